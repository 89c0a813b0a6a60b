import CollectorCore
import Dispatch
import Foundation
import Synchronization
import Testing

@Suite struct BoundedRingTests {
    @Test func capacityRoundsUpToPowerOfTwo() {
        #expect(BoundedRing<Int>(capacity: 5).capacity == 8)
        #expect(BoundedRing<Int>(capacity: 64).capacity == 64)
        #expect(BoundedRing<Int>(capacity: 0).capacity == 2)
    }

    @Test func fifoAndFullAndEmpty() {
        let ring = BoundedRing<Int>(capacity: 4)
        #expect(ring.pop() == nil)
        for i in 0..<4 { #expect(ring.push(i)) }
        #expect(!ring.push(99), "a full ring refuses instead of overwriting")
        #expect(ring.count == 4)
        #expect(ring.pop() == 0)
        #expect(ring.push(4))
        #expect([ring.pop(), ring.pop(), ring.pop(), ring.pop(), ring.pop()] == [1, 2, 3, 4, nil])
        #expect(ring.isEmpty)
    }

    @Test func manyLapsKeepOrder() {
        let ring = BoundedRing<Int>(capacity: 2)
        for i in 0..<1000 {
            #expect(ring.push(i))
            #expect(ring.pop() == i)
        }
    }

    /// Four producers and two consumers race; every element arrives exactly once.
    @Test func concurrentProducersAndConsumersLoseAndDuplicateNothing() {
        let ring = BoundedRing<Int>(capacity: 64)
        let perProducer = 20_000
        let producers = 4
        let seen = Mutex<[Int]>([])
        let done = Atomic<Int>(0)
        // Real threads: spinning work items on Dispatch's global queue could starve each other.
        let group = DispatchGroup()
        func spawn(_ body: @escaping @Sendable () -> Void) {
            group.enter()
            Thread { body(); group.leave() }.start()
        }
        for p in 0..<producers {
            spawn {
                for i in 0..<perProducer {
                    let value = p * perProducer + i
                    while !ring.push(value) {}
                }
                done.add(1, ordering: .releasing)
            }
        }
        for _ in 0..<2 {
            spawn {
                var local: [Int] = []
                while true {
                    if let v = ring.pop() {
                        local.append(v)
                    } else if done.load(ordering: .acquiring) == producers && ring.isEmpty {
                        break
                    }
                }
                seen.withLock { $0 += local }
            }
        }
        group.wait()
        let all = seen.withLock { $0 }.sorted()
        #expect(all.count == producers * perProducer)
        #expect(all == Array(0..<(producers * perProducer)))
    }
}
