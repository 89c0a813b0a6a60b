import Dispatch
import Synchronization

/// Lets an exporter's `shutdown` interrupt its sender's waits (batch timeout, backoff). Once stopped, every
/// `sleep` returns false at once. Thread-safe.
public final class StopSignal: Sendable {
    public init() {}

    private let stopped = Atomic<Bool>(false)
    private let semaphore = DispatchSemaphore(value: 0)

    public var isStopped: Bool { stopped.load(ordering: .acquiring) }

    public func stop() {
        if !stopped.exchange(true, ordering: .acquiringAndReleasing) { semaphore.signal() }
    }

    /// Sleeps `nanoseconds`; false when interrupted (or already stopped).
    public func sleep(_ nanoseconds: UInt64) -> Bool {
        guard !isStopped else { return false }
        if semaphore.wait(timeout: .now() + .nanoseconds(Int(min(nanoseconds, UInt64(Int.max))))) == .success {
            semaphore.signal()
            return false
        }
        return !isStopped
    }
}
