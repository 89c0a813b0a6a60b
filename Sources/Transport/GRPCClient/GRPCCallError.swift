/// Why a unary gRPC call failed: the gRPC status and message (from the server, or made up
/// locally for transport failures as gRPC's own clients do), and what a caller may do about it.
///
/// Retry meaning is the OTLP specification's: UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED,
/// OUT_OF_RANGE, DATA_LOSS and CANCELLED are retryable; RESOURCE_EXHAUSTED only when the server
/// sent a `google.rpc.RetryInfo` (then after ``retryDelayNanos``); every other code is permanent.
/// Connection failures are UNAVAILABLE (retryable); a client that was shut down is CANCELLED
/// but not retryable.
public struct GRPCCallError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: GRPCStatusCode
    public var message: String
    /// `grpc-status-details-bin`, when the server sent it.
    public var details: GRPCStatusDetails?
    /// The server certainly did not process the call (never sent, refused, above GOAWAY's last
    /// stream): sending it again cannot duplicate data.
    public var notProcessed: Bool
    public var isRetryable: Bool

    public init(status: GRPCStatusCode, message: String, details: GRPCStatusDetails? = nil, notProcessed: Bool = false) {
        self.status = status
        self.message = message
        self.details = details
        self.notProcessed = notProcessed
        self.isRetryable = Self.isRetryable(status, hasRetryInfo: details?.retryDelayNanos != nil)
    }

    /// The server's RetryInfo delay (nanoseconds): wait at least this long before retrying.
    public var retryDelayNanos: UInt64? { details?.retryDelayNanos }

    public var description: String { "\(status): \(message)" }

    /// OTLP's table of retryable codes.
    public static func isRetryable(_ status: GRPCStatusCode, hasRetryInfo: Bool) -> Bool {
        switch status {
        case .cancelled, .deadlineExceeded, .aborted, .outOfRange, .unavailable, .dataLoss: true
        case .resourceExhausted: hasRetryInfo
        default: false
        }
    }

    /// The status a gRPC client reports for an HTTP/2 failure (gRPC's PROTOCOL-HTTP2 mapping for
    /// stream resets; connection trouble is UNAVAILABLE).
    init(_ error: HTTP2ClientError) {
        let status: GRPCStatusCode
        switch error.kind {
        case .deadlineExceeded: status = .deadlineExceeded
        case .refused, .connectionClosed, .connect, .resolve, .tls: status = .unavailable
        case .responseTooLarge: status = .resourceExhausted
        case .shutdown: status = .cancelled
        case .invalidConfiguration: status = .invalidArgument
        case .reset(let code):
            switch code {
            case 7: status = .unavailable  // REFUSED_STREAM
            case 8: status = .cancelled  // CANCEL
            case 11: status = .resourceExhausted  // ENHANCE_YOUR_CALM
            case 12: status = .permissionDenied  // INADEQUATE_SECURITY
            default: status = .internal
            }
        }
        self.init(status: status, message: error.message, notProcessed: error.notProcessed)
        if error.kind == .shutdown { isRetryable = false }
    }

    /// The status for a response whose HTTP status is not 200 (gRPC's
    /// http-grpc-status-mapping: 400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED,
    /// 404 UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE, anything else UNKNOWN).
    static func status(forHTTPStatus code: Int) -> GRPCStatusCode {
        switch code {
        case 400: .internal
        case 401: .unauthenticated
        case 403: .permissionDenied
        case 404: .unimplemented
        case 429, 502, 503, 504: .unavailable
        default: .unknown
        }
    }
}
