import Synchronization

/// The protocol version a request arrived with.
public enum HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    case http1_0
    case http1_1
    case http2

    public var description: String {
        switch self {
        case .http1_0: "HTTP/1.0"
        case .http1_1: "HTTP/1.1"
        case .http2: "HTTP/2"
        }
    }
}

/// A complete request, body included, as delivered to an ``HTTPHandler``.
///
/// The same type is produced for HTTP/1.x and HTTP/2 (h2c). On HTTP/2 the pseudo-headers
/// become ``method`` and ``target``; `:authority` is exposed as a `host` header when the
/// request has none. A value type; `Sendable`. Equality ignores ``cancellation``.
public struct HTTPRequest: Sendable, Equatable {
    /// Request method as sent (`GET`, `POST`, ...); case-sensitive per RFC 9110.
    public var method: String
    /// The request target as sent (`/v1/traces?x=1`).
    public var target: String
    /// The path part of the target (before `?`); for absolute-form targets, the path after
    /// the authority.
    public var path: String
    /// The query string after `?` (without the `?`), or `nil` when there is none.
    public var query: String?
    public var version: HTTPVersion
    /// Header fields in arrival order (no HTTP/2 pseudo-headers).
    public var headers: HTTPHeaders
    /// The complete body (de-chunked on HTTP/1.1; never content-decoded).
    public var body: [UInt8]
    /// The peer address, `ip:port` or `[ipv6]:port`.
    public var remoteAddress: String
    /// Set when the client can no longer receive the answer (its connection closed, its
    /// HTTP/2 stream was reset): a long handler may stop early.
    public var cancellation = RequestCancellation()

    public init(
        method: String, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = [:],
        body: [UInt8] = [], remoteAddress: String = ""
    ) {
        self.method = method
        self.target = target
        let (path, query) = Self.split(target: target)
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
    }

    public static func == (a: HTTPRequest, b: HTTPRequest) -> Bool {
        a.method == b.method && a.target == b.target && a.version == b.version && a.headers == b.headers
            && a.body == b.body && a.remoteAddress == b.remoteAddress
    }

    /// Splits a request target into path and query. Absolute-form targets
    /// (`http://host/p?q`) lose their scheme and authority.
    static func split(target: String) -> (path: String, query: String?) {
        var rest = Substring(target)
        if !rest.hasPrefix("/"), let colon = rest.firstIndex(of: ":"), rest[colon...].hasPrefix("://") {
            let afterScheme = rest[rest.index(colon, offsetBy: 3)...]
            if let slash = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) {
                rest = afterScheme[slash...]
            } else {
                rest = "/"
            }
            if rest.hasPrefix("?") { rest = "/" + rest }
        }
        guard let mark = rest.firstIndex(of: "?") else { return (String(rest), nil) }
        return (String(rest[..<mark]), String(rest[rest.index(after: mark)...]))
    }
}

/// Whether a request's client has gone away (see ``HTTPRequest/cancellation``). Set by the
/// transport on its connection queue, read by handlers on any thread (an atomic).
public final class RequestCancellation: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public var isCancelled: Bool { flag.load(ordering: .relaxed) }

    func cancel() { flag.store(true, ordering: .relaxed) }
}
