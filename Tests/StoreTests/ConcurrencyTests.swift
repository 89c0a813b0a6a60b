import CollectorTesting
import Foundation
import OTLPCodec
import Store
import Synchronization
import Testing

/// Queries running on several threads while one thread appends, segments seal and retention
/// deletes: no crash, never a partial block, never a newer part of a trace without its older
/// part (only retention may take away the oldest part).
@Suite struct ConcurrencyTests {
    /// Step `i` appends the second half of trace i and the first half of trace i + 1, so every
    /// trace spans two consecutive blocks (often two segments).
    static func step(_ i: Int) -> [UInt8] {
        OTLPBuild.traces([TestResource(service: "svc\(i % 3)", items:
            traceSpans(i, count: 5, service: "", start: UInt64(i) * 100, firstSpan: 5)
            + traceSpans(i + 1, count: 5, service: "", start: UInt64(i + 1) * 100, firstSpan: 0))])
    }

    static func half(_ t: Int, first: Bool) -> [String] {
        (first ? 0..<5 : 5..<10).map { hex(spanID(t * 1000 + $0)) }
    }

    @Test func queriesDuringIngestionSealingAndRetention() throws {
        let dir = TempDirectory()
        let events = EventLog()
        var config = testConfig(dir.path, segmentMaxBytes: 8192)
        config.retentionMaxBytes = 48 * 1024
        config.cacheBytes = 64 * 1024
        let store = try TraceStore(config: config, onEvent: events.sink)
        let steps = 1500
        let committed = Atomic<Int>(0)
        let done = Atomic<Bool>(false)
        let failures = Mutex<[String]>([])
        let checked = Atomic<Int>(0)
        let group = DispatchGroup()

        func spawn(_ body: @escaping @Sendable () -> Void) {
            group.enter()
            let thread = Thread {
                body()
                group.leave()
            }
            thread.start()
        }

        spawn {
            do {
                for i in 1...steps {
                    try store.append(kind: .spans, payload: Self.step(i), itemCount: 10)
                    committed.store(i, ordering: .releasing)
                    // Let the readers keep up (however busy the machine), so that queries
                    // really interleave with appends, sealing and retention.
                    var waited = 0
                    while checked.load(ordering: .relaxed) < i / 4 && waited < 2000 {
                        usleep(50)
                        waited += 1
                    }
                }
            } catch {
                failures.withLock { $0.append("append: \(error)") }
            }
            done.store(true, ordering: .releasing)
        }
        for reader in 0..<3 {
            spawn {
                var n = reader
                while !done.load(ordering: .acquiring) {
                    let c = committed.load(ordering: .acquiring)
                    guard c > 2 else { continue }
                    n = (n &* 1_103_515_245 &+ 12345) & 0x7FFF_FFFF
                    // Trace t is complete once step t has returned (t <= c).
                    let t = 2 + n % (c - 1)
                    let spans: [String]
                    do {
                        spans = try store.trace(id: traceID(t)).map { try decodeSpans($0.spans).map(\.spanID) } ?? []
                    } catch {
                        failures.withLock { $0.append("trace \(t): \(error)") }
                        continue
                    }
                    let whole = Self.half(t, first: true) + Self.half(t, first: false)
                    // Blocks come back in segment order: first half (step t-1), then second (step t).
                    if spans != whole && spans != Self.half(t, first: false) && !spans.isEmpty {
                        failures.withLock { $0.append("trace \(t) with \(c) steps committed: \(spans.count) spans") }
                    }
                    if reader == 0 {
                        let found = store.search(service: "svc\(t % 3)", limit: 5)
                        if found.contains(where: { $0.spanCount == 0 || $0.rootService.isEmpty }) {
                            failures.withLock { $0.append("bad summary \(found)") }
                        }
                        _ = store.services()
                    }
                    checked.add(1, ordering: .relaxed)
                }
            }
        }
        group.wait()
        store.waitForMaintenance()
        #expect(failures.withLock { $0 } == [])
        #expect(checked.load(ordering: .relaxed) > 100)
        let stats = store.statistics()
        #expect(stats.deletedSegments > 0 && stats.sealedSegments > 0)
        #expect(events.problems.isEmpty)
        // After the run, every trace still stored is whole or lost only its older half.
        var whole = 0
        for t in 2...steps {
            let spans = try store.trace(id: traceID(t)).map { try decodeSpans($0.spans).map(\.spanID) } ?? []
            if spans == Self.half(t, first: true) + Self.half(t, first: false) { whole += 1 }
            #expect(spans.isEmpty || spans.count == 10 || spans == Self.half(t, first: false), "trace \(t)")
        }
        #expect(whole > 20)
        #expect(store.trace(id: traceID(steps))?.spans.isEmpty == false)
    }
}
