/// One request for ``HTTP2Client``: `:method`, `:path` and header fields (names are sent in
/// lower case; connection-specific fields are not allowed in HTTP/2 and are dropped), and the
/// whole body, which is streamed to the server as its flow-control windows allow.
/// `:scheme` and `:authority` come from the client's configuration.
public struct HTTP2ClientRequest: Sendable, Equatable {
    public var method: String
    public var path: String
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(method: String = "POST", path: String, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }
}
