import Dispatch
import Synchronization

/// Request- and batch-sized buffers shared across threads. The process's pool (`shared`):
/// HTTP/2 takes each gRPC request body from here (sized from the message length), the `batch`
/// processor the room of a batch of small requests, and a join (`TelemetryBatch.join`) its
/// whole buffer; the exporter stages give every buffer of a batch back once it is exported,
/// and a join the parts it copied. So the next body or batch writes into pages already faulted
/// in instead of a fresh mapping (glibc maps every allocation above its mmap threshold, 256 KiB
/// in collectord, and unmaps it when freed: a 488 KB body costs 120 page faults, a 4 MiB batch
/// a thousand).
///
/// Design:
/// - Bounded: at most `limit` buffers of at most `maxBytes` each, `maxRetainedBytes` in all
///   (`SpareBuffers`); what does not fit is freed as before. The shared pool keeps up to 16
///   and 12 MiB: about the bodies of one batch of large requests and one batch buffer. Under a
///   steady load the spares are the buffers of requests already answered whose successors have
///   not arrived yet, so they do not raise the peak (measured in BENCHMARKS.md).
/// - A taker gets the smallest spare that fits and none more than `maxSlack` times its size:
///   a small body must not pin a batch-sized buffer whose pages are all resident.
/// - Giving back a buffer still shared (another exporter is still sending the same batch) is
///   safe: arrays copy on write, so the next taker's first write gets fresh storage and the
///   batch keeps its bytes. The same storage is never kept twice.
/// - An idle process gives the memory back: with `idleRelease`, a one-second timer lets every
///   buffer go when nothing was taken or given since its last tick, and stops until the next
///   `give`, so an idle agent neither keeps the pages nor wakes up for them. An owner with a
///   timer of its own (the store, for its block buffers) calls `releaseIfIdle` from it instead.
/// Thread-safe (a Mutex around the spares, an atomic for the idle check).
public final class PayloadPool: Sendable {
    public static let shared = PayloadPool(limit: 16, maxBytes: 16 << 20, maxRetainedBytes: 12 << 20, maxSlack: 2,
                                           idleRelease: true)

    private let spares: Mutex<SpareBuffers>
    private let used = Atomic<Bool>(false)
    private let timer: Mutex<(any DispatchSourceTimer)?>
    private let idleRelease: Bool

    public init(limit: Int, maxBytes: Int, maxRetainedBytes: Int = .max, maxSlack: Int = .max, idleRelease: Bool) {
        spares = Mutex(SpareBuffers(limit: limit, maxBytes: maxBytes, maxRetainedBytes: maxRetainedBytes,
                                    maxSlack: maxSlack))
        timer = Mutex(nil)
        self.idleRelease = idleRelease
        Self.live.withLock { pools in
            pools.removeAll { $0.pool == nil }
            pools.append(WeakPool(pool: self))
        }
    }

    /// Every pool of the process (weakly), for `releaseEverywhere`.
    private static let live = Mutex<[WeakPool]>([])

    private struct WeakPool {
        weak var pool: PayloadPool?
    }

    /// Lets go of the spares of every pool in the process: the shared one and the store's
    /// block buffers (the memory limiter, over its limit, before it measures again).
    public static func releaseEverywhere() {
        let pools = live.withLock { $0.compactMap(\.pool) }
        for pool in pools { pool.releaseAll() }
    }

    /// An empty buffer with room for at least `capacity` bytes.
    public func take(capacity: Int) -> [UInt8] {
        used.store(true, ordering: .relaxed)
        return spares.withLock { $0.take(capacity: capacity) }
    }

    /// Moves `buffer`'s bytes into a buffer from the pool with room for at least `capacity`
    /// bytes (a body or batch about to grow to a size known in advance).
    public func regrow(_ buffer: inout [UInt8], toCapacity capacity: Int) {
        var room = take(capacity: capacity)
        room.append(contentsOf: buffer)
        buffer = room
    }

    /// Keeps `buffer` for a later `take` when it fits the bounds.
    public func give(_ buffer: [UInt8]) {
        used.store(true, ordering: .relaxed)
        spares.withLock { $0.give(buffer) }
        if idleRelease { armTimer() }
    }

    /// The number of buffers kept and their capacity in bytes.
    public var retained: (count: Int, bytes: Int) { spares.withLock { ($0.count, $0.retainedBytes) } }

    /// Lets every buffer go when nothing was taken or given since the last call; true if it
    /// did. (The timer's tick; callable directly.)
    @discardableResult
    public func releaseIfIdle() -> Bool {
        guard !used.exchange(false, ordering: .relaxed) else { return false }
        releaseAll()
        return true
    }

    /// Lets every buffer go now (the memory limiter, over its limit, before it measures again).
    public func releaseAll() {
        spares.withLock { $0.removeAll() }
    }

    private func armTimer() {
        timer.withLock { timer in
            guard timer == nil else { return }
            let source = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
            source.schedule(deadline: .now() + .seconds(1), repeating: .seconds(1))
            source.setEventHandler { [weak self] in self?.tick() }
            source.resume()
            timer = source
        }
    }

    private func tick() {
        guard releaseIfIdle() else { return }
        timer.withLock { timer in
            // A give between the release and here re-arms nothing (the timer was still set):
            // check again under the lock before stopping.
            guard retained.count == 0 else { return }
            timer?.cancel()
            timer = nil
        }
    }
}
