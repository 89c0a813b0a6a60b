/// An error that crosses a component boundary, carrying its retry meaning (as the OTel
/// Collector's consumererror does): receivers map permanent errors to INVALID_ARGUMENT / 400
/// and the others to UNAVAILABLE / 503 (with Retry-After when known).
public struct ComponentError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Retry: Sendable, Equatable {
        /// Retrying the same data cannot succeed (malformed, rejected by the backend).
        case permanent
        /// A later retry may succeed (full queue, backend down).
        case retryable
        /// Retry after this many seconds.
        case retryAfter(seconds: Int)
    }

    public var retry: Retry
    public var message: String

    public init(_ retry: Retry, _ message: String) {
        self.retry = retry
        self.message = message
    }

    public static func permanent(_ message: String) -> ComponentError { .init(.permanent, message) }
    public static func retryable(_ message: String) -> ComponentError { .init(.retryable, message) }

    public var isRetryable: Bool { retry != .permanent }

    /// Seconds a client should wait before retrying, when the error says.
    public var retryAfterSeconds: Int? {
        if case .retryAfter(let s) = retry { return s }
        return nil
    }

    public var description: String { message }
}
