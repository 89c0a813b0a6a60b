import Synchronization

/// A bounded, lock-free, multi-producer multi-consumer ring of batches (Dmitry Vyukov's
/// bounded MPMC queue) with a power-of-two capacity.
///
/// Design: each slot has a sequence number. A producer claims position `p` by a CAS on
/// `tail` when slot `p & mask` has sequence `p` (empty, its turn), writes the element, then
/// publishes it with sequence `p + 1` (release). A consumer claims position `c` by a CAS on
/// `head` when the slot's sequence is `c + 1` (acquire), moves the element out, then frees the
/// slot for the next lap with sequence `c + capacity` (release). A full ring makes `push`
/// return false at once: backpressure, never blocking and never dropping.
///
/// `@unchecked Sendable`: the element storage is raw memory shared between threads; every slot
/// is accessed only by the single producer or consumer that won that position's CAS, and the
/// acquire/release sequence numbers order the write before the read, so there is no data race.
public final class BoundedRing<Element: Sendable>: @unchecked Sendable {
    public let capacity: Int
    private let mask: Int
    private let sequences: UnsafeMutablePointer<Atomic<Int>>
    private let slots: UnsafeMutablePointer<Element?>
    private let tail = Atomic<Int>(0)
    private let head = Atomic<Int>(0)

    /// `capacity` is rounded up to a power of two (at least 2).
    public init(capacity requested: Int) {
        var capacity = 2
        while capacity < requested { capacity <<= 1 }
        self.capacity = capacity
        self.mask = capacity - 1
        sequences = .allocate(capacity: capacity)
        slots = .allocate(capacity: capacity)
        for i in 0..<capacity {
            (sequences + i).initialize(to: Atomic(i))
            (slots + i).initialize(to: nil)
        }
    }

    deinit {
        for i in 0..<capacity { _ = (sequences + i).move() }
        sequences.deallocate()
        slots.deinitialize(count: capacity)
        slots.deallocate()
    }

    /// Adds `element` unless the ring is full; returns false (and drops nothing) when full.
    public func push(_ element: consuming Element) -> Bool {
        var pos = tail.load(ordering: .relaxed)
        while true {
            let index = pos & mask
            let seq = sequences[index].load(ordering: .acquiring)
            let diff = seq - pos
            if diff == 0 {
                let (exchanged, original) = tail.weakCompareExchange(
                    expected: pos, desired: pos + 1, ordering: .relaxed)
                if exchanged {
                    slots[index] = consume element
                    sequences[index].store(pos + 1, ordering: .releasing)
                    return true
                }
                pos = original
            } else if diff < 0 {
                return false
            } else {
                pos = tail.load(ordering: .relaxed)
            }
        }
    }

    /// Removes the oldest element, or returns nil when the ring is empty.
    public func pop() -> Element? {
        var pos = head.load(ordering: .relaxed)
        while true {
            let index = pos & mask
            let seq = sequences[index].load(ordering: .acquiring)
            let diff = seq - (pos + 1)
            if diff == 0 {
                let (exchanged, original) = head.weakCompareExchange(
                    expected: pos, desired: pos + 1, ordering: .relaxed)
                if exchanged {
                    let element = slots[index].take()
                    sequences[index].store(pos + capacity, ordering: .releasing)
                    return element
                }
                pos = original
            } else if diff < 0 {
                return nil
            } else {
                pos = head.load(ordering: .relaxed)
            }
        }
    }

    /// Elements currently queued (a snapshot; exact when nobody is pushing or popping).
    public var count: Int {
        let h = head.load(ordering: .relaxed)
        let t = tail.load(ordering: .relaxed)
        return max(0, min(capacity, t - h))
    }

    public var isEmpty: Bool { count == 0 }
}
