import CollectorCore
import ExporterHelper

/// One gateway, as the load balancer sends to it: one attempt per call (the load balancer
/// retries, re-routing what is left by the ring of the moment), classified as the OTLP spec
/// says. Thread-safe: calls come from several threads at once.
public protocol Backend: Sendable {
    /// Sends one request of `signal` (a serialized OTLP export request) once; `completion`
    /// gets the outcome, on any thread. Must not block the caller (the load balancer sends
    /// every share at once from one thread).
    func send(_ payload: [UInt8], signal: Signal, completion: @escaping @Sendable (SendAttempt) -> Void)
    /// Closes its connections (the endpoint left the ring); calls in flight may still finish.
    func close()
}
