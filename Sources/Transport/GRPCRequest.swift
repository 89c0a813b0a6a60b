/// One unary gRPC call as delivered to a ``GRPCHandler``: the framing is removed and the
/// message is decompressed. A value type; `Sendable`.
public struct GRPCRequest: Sendable, Equatable {
    /// The method path (`:path`), e.g. `/opentelemetry.proto.collector.trace.v1.TraceService/Export`.
    public var path: String
    /// Request metadata (HTTP/2 headers without pseudo-headers; `:authority` appears as `host`).
    public var headers: HTTPHeaders
    /// The request message, uncompressed.
    public var message: [UInt8]
    /// The peer address, `ip:port` or `[ipv6]:port`.
    public var remoteAddress: String

    public init(path: String, headers: HTTPHeaders = [:], message: [UInt8], remoteAddress: String = "") {
        self.path = path
        self.headers = headers
        self.message = message
        self.remoteAddress = remoteAddress
    }

    /// The service part of ``path`` (`opentelemetry.proto.collector.trace.v1.TraceService`).
    public var service: Substring {
        let trimmed = path.drop(while: { $0 == "/" })
        return trimmed.split(separator: "/", maxSplits: 1).first ?? trimmed
    }

    /// The method part of ``path`` (`Export`).
    public var methodName: Substring {
        let parts = path.drop(while: { $0 == "/" }).split(separator: "/", maxSplits: 1)
        return parts.count == 2 ? parts[1] : ""
    }
}
