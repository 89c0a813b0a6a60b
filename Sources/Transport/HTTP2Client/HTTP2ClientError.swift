/// Why an HTTP/2 request got no complete response.
///
/// Every kind is worth retrying except ``Kind/responseTooLarge`` (the same answer would be too
/// large again), ``Kind/invalidConfiguration`` and ``Kind/shutdown`` (the client was stopped). ``notProcessed`` says the server
/// certainly did not act on the request (it was never sent, refused with REFUSED_STREAM, or
/// above the last stream id of a GOAWAY), so sending it again cannot duplicate anything.
public struct HTTP2ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The host name did not resolve.
        case resolve
        /// No address accepted a connection, or the connection timed out before the server's
        /// SETTINGS arrived.
        case connect
        /// The TLS handshake failed (certificate, protocol, no ALPN "h2").
        case tls
        /// The request's deadline passed (waiting, sending or receiving); an open stream was
        /// reset with CANCEL.
        case deadlineExceeded
        /// The server did not process the stream: REFUSED_STREAM, or GOAWAY named a lower last
        /// stream id.
        case refused
        /// The server reset the stream with this HTTP/2 error code.
        case reset(UInt32)
        /// The connection closed or broke before the response was complete.
        case connectionClosed
        /// The response body passed the client's `maxResponseBytes`; the stream was reset.
        case responseTooLarge
        /// The configuration is not usable (TLS files that do not load, a bad port).
        case invalidConfiguration
        /// The client is shutting down (or was shut down) before the request completed.
        case shutdown
    }

    public var kind: Kind
    /// The whole story, naming the peer where one is involved.
    public var message: String
    /// The server certainly did not process the request.
    public var notProcessed: Bool

    public init(_ kind: Kind, _ message: String, notProcessed: Bool = false) {
        self.kind = kind
        self.message = message
        self.notProcessed = notProcessed || kind == .refused
    }

    public var description: String { message }

    /// True when sending the same request again may succeed.
    public var isRetryable: Bool { kind != .responseTooLarge && kind != .shutdown && kind != .invalidConfiguration }

    /// The HTTP/2 error codes by name (RFC 9113 section 7), for messages.
    static func codeName(_ code: UInt32) -> String {
        let names = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
                     "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
                     "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"]
        return code < names.count ? names[Int(code)] : "error code \(code)"
    }
}
