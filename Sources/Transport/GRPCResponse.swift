/// The answer to a unary gRPC call.
///
/// `status == .ok` sends HEADERS, one DATA frame with the length-prefixed ``body``
/// (an empty message if nil), and trailers with `grpc-status: 0`. Any other status sends a
/// trailers-only response (one HEADERS frame with `grpc-status` and the percent-encoded
/// `grpc-message`); ``body`` is then ignored. A value type; `Sendable`.
public struct GRPCResponse: Sendable, Equatable {
    public var status: GRPCStatusCode
    /// Human-readable status message (`grpc-message`); sent percent-encoded.
    public var message: String?
    /// The response message bytes (serialized protobuf, unframed), for `.ok`.
    public var body: [UInt8]?
    /// Extra trailing metadata (lower-case names, ASCII values).
    public var trailers: HTTPHeaders

    public init(status: GRPCStatusCode, message: String? = nil, body: [UInt8]? = nil, trailers: HTTPHeaders = [:]) {
        self.status = status
        self.message = message
        self.body = body
        self.trailers = trailers
    }

    /// Success with a response message.
    public static func ok(_ body: [UInt8]) -> GRPCResponse {
        GRPCResponse(status: .ok, body: body)
    }

    /// A failure with a status and message.
    public static func error(_ status: GRPCStatusCode, _ message: String) -> GRPCResponse {
        GRPCResponse(status: status, message: message)
    }
}

/// Handles one unary gRPC call. Same contract as ``HTTPHandler``: runs on a connection queue
/// and must not block; `respond` must be called exactly once, from any thread, at any later
/// time. Unknown methods are the handler's to answer (with `.unimplemented`).
public typealias GRPCHandler = @Sendable (GRPCRequest, _ respond: @escaping @Sendable (GRPCResponse) -> Void) -> Void
