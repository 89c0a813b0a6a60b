/// A response produced by an ``HTTPHandler``, or received by an ``HTTP2Client`` (then
/// ``headers`` lack the pseudo-headers and ``trailers`` hold the trailing HEADERS' fields).
///
/// `Content-Length` (HTTP/1.1) and `Connection` are managed by the server; a handler need not
/// set them. ``trailers`` are sent only on HTTP/2 (after the body, e.g. gRPC status); on
/// HTTP/1.1 they are dropped. A value type; `Sendable`.
public struct HTTPResponse: Sendable, Equatable {
    /// Status code (100...599; 1xx codes other than via `Expect` are not supported).
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// HTTP/2 only: fields sent in a trailing HEADERS frame after the body.
    public var trailers: HTTPHeaders

    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = [], trailers: HTTPHeaders = [:]) {
        self.status = status
        self.headers = headers
        self.body = body
        self.trailers = trailers
    }

    /// A plain-text response (`content-type: text/plain; charset=utf-8`).
    public static func text(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["content-type": "text/plain; charset=utf-8"], body: Array(text.utf8))
    }

    /// The standard reason phrase for `status`, used on the HTTP/1.1 status line.
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 206: "Partial Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 417: "Expectation Failed"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }
}
