/// Why a request got no complete answer. Every kind is worth retrying except `.cancelled`
/// (the caller stopped) and `.tooLarge`; `answered` says whether any byte of an answer arrived
/// (a request that got none may not have reached the server's application at all).
public struct HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The host name did not resolve.
        case resolve
        /// No address accepted a connection.
        case connect
        /// The TLS handshake failed (certificate, protocol).
        case tls
        /// The deadline passed (connect, send, or waiting for the answer).
        case timeout
        /// The connection broke or closed before the answer was complete.
        case closed
        /// The answer is not HTTP/1.x as the client understands it.
        case malformedResponse
        /// The answer's head or body is over the client's limit.
        case tooLarge
        /// `HTTPCancellation.cancel()` was called.
        case cancelled
    }

    public var kind: Kind
    /// The whole story, naming the peer ("cannot connect to host:port: Connection refused").
    public var message: String
    /// The cause alone ("Connection refused"), for callers that name the peer themselves.
    public var reason: String
    public var answered: Bool

    public init(_ kind: Kind, _ message: String, reason: String? = nil, answered: Bool = false) {
        self.kind = kind
        self.message = message
        self.reason = reason ?? message
        self.answered = answered
    }

    public var description: String { message }

    /// True when sending the same request again may succeed.
    public var isRetryable: Bool { kind != .cancelled && kind != .tooLarge }
}
