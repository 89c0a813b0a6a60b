import Dispatch
import Synchronization

/// Batch-sized payload buffers shared across threads. The process's pool (`shared`): the
/// `batch` processor takes the buffer of each new batch from here, and the exporter stages
/// give a batch's buffer back once it is exported, so that merging requests writes into pages already faulted in instead of a fresh
/// mapping per batch (glibc maps every allocation above its mmap threshold, 256 KiB in
/// collectord, and unmaps it when freed: a 4 MiB batch costs a thousand page faults).
///
/// Design:
/// - Bounded: at most `limit` buffers of at most `maxBytes` each (`SpareBuffers`); what does
///   not fit is freed as before. The shared pool keeps one: the batch being filled and the one
///   being exported hold theirs, and one spare is what lets the next batch skip the faults
///   (with more, the spares only added to the peak RSS, measured in BENCHMARKS.md).
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
    }

    /// An empty buffer with room for at least `capacity` bytes.
    public func take(capacity: Int) -> [UInt8] {
        used.store(true, ordering: .relaxed)
        return spares.withLock { $0.take(capacity: capacity) }
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
        spares.withLock { $0.removeAll() }
        return true
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
            guard spares.withLock({ $0.count }) == 0 else { return }
            timer?.cancel()
            timer = nil
        }
    }
}
