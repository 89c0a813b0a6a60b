import Synchronization

/// A processor whose calls are serialized by a lock, so that the old and the new pipeline of a
/// reload may share the instance (see the reload contract on `Processor`).
///
/// Outputs are collected under the lock and emitted after it is released, so no lock is held
/// while the rest of a pipeline runs (two kept processors in a changed order cannot deadlock).
/// The lock is uncontended outside a reload.
///
/// `@unchecked Sendable`: `inner` is only called with `lock` held.
public final class SerializedProcessor: HoldingProcessor, @unchecked Sendable {
    public let inner: any Processor
    private let lock = Mutex(())

    public init(_ inner: any Processor) {
        self.inner = inner
    }

    private func locked(_ body: (any Processor, (TelemetryBatch) -> Void) -> Void, emit: (TelemetryBatch) -> Void) {
        var out: [TelemetryBatch] = []
        lock.withLock { _ in body(inner) { out.append($0) } }
        for batch in out { emit(batch) }
    }

    public func start() throws {
        try lock.withLock { _ in try inner.start() }
    }

    public func process(_ batch: TelemetryBatch, now: UInt64, emit: (TelemetryBatch) -> Void) {
        locked({ p, e in p.process(batch, now: now, emit: e) }, emit: emit)
    }

    public var nextDeadline: UInt64? { lock.withLock { _ in inner.nextDeadline } }

    /// The inner processor's (a property of its kind, not of its state: read without the lock).
    public var passesDataUnchanged: Bool { inner.passesDataUnchanged }

    public func timerFired(now: UInt64, emit: (TelemetryBatch) -> Void) {
        locked({ p, e in p.timerFired(now: now, emit: e) }, emit: emit)
    }

    public func flush(emit: (TelemetryBatch) -> Void) {
        locked({ p, e in p.flush(emit: e) }, emit: emit)
    }

    public func shutdown() {
        lock.withLock { _ in inner.shutdown() }
    }

    /// Hands the inner processor's data to `successor`'s inner processor, when the inner one
    /// holds data and the successor can take it.
    public func handOver(to successor: any Processor, now: UInt64) -> Bool {
        let target = (successor as? SerializedProcessor)?.inner ?? successor
        guard let holding = inner as? any HoldingProcessor else { return false }
        // The successor is locked too: it is running in the new pipeline meanwhile.
        if let other = successor as? SerializedProcessor {
            return lock.withLock { _ in other.lock.withLock { _ in holding.handOver(to: target, now: now) } }
        }
        return lock.withLock { _ in holding.handOver(to: target, now: now) }
    }
}
