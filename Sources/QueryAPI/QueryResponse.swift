/// What `QueryHandler` answers: a status, a content type and a body. A value type.
public struct QueryResponse: Sendable, Hashable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    static let json = "application/json"
    static let protobuf = "application/protobuf"
    static let plain = "text/plain; charset=utf-8"

    static func json(_ body: [UInt8], status: Int = 200) -> QueryResponse {
        QueryResponse(status: status, contentType: json, body: body)
    }

    static func protobuf(_ body: [UInt8]) -> QueryResponse {
        QueryResponse(status: 200, contentType: protobuf, body: body)
    }

    /// A plain-text answer (Tempo's errors; a newline is appended).
    static func text(_ status: Int, _ message: String) -> QueryResponse {
        QueryResponse(status: status, contentType: plain, body: Array((message + "\n").utf8))
    }

    /// A Jaeger error envelope with the same status.
    static func jaegerError(_ status: Int, _ message: String) -> QueryResponse {
        json(JaegerEnvelope.error(code: status, message), status: status)
    }
}
