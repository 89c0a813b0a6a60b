import Synchronization

/// End-to-end acknowledgement of one received request (a finalizer, in Vector's words).
///
/// A receiver creates a token per request with the code that answers the client, and puts it in
/// the batch it hands to the pipeline. The token counts references: every batch that carries
/// some of the request's data holds one, fan-out and splitting retain more, and each exporter
/// releases its reference when its write is durable (or has failed). The last release runs
/// `completion` exactly once, with the first permanent error seen, else the first retryable
/// error, else success. So the client hears "success" only when every exporter of the pipeline
/// has taken the data.
///
/// Thread-safe: retain and release may be called from any thread.
public final class AckToken: Sendable {
    private let pending: Atomic<Int>
    private let failure = Mutex<ComponentError?>(nil)
    private let completion: @Sendable (ComponentError?) -> Void

    /// A token with one reference, held by the first batch that carries it.
    public init(completion: @escaping @Sendable (ComponentError?) -> Void) {
        self.pending = Atomic(1)
        self.completion = completion
    }

    /// Adds `count` references.
    public func retain(_ count: Int = 1) {
        pending.add(count, ordering: .relaxed)
    }

    /// Drops one reference; nil means this holder succeeded.
    public func release(_ error: ComponentError? = nil) {
        if let error {
            failure.withLock { current in
                if current == nil || (current!.isRetryable && !error.isRetryable) { current = error }
            }
        }
        let (_, remaining) = pending.subtract(1, ordering: .acquiringAndReleasing)
        precondition(remaining >= 0, "AckToken released more often than retained")
        if remaining == 0 {
            completion(failure.withLock { $0 })
        }
    }
}
