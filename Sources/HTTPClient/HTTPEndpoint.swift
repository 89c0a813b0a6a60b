/// A parsed `http[s]://host[:port][/path]` URL: where a client connects, and the path its
/// requests are relative to (no trailing slash; "" for none).
public struct HTTPEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var path: String
    public var tls: Bool

    public init(host: String, port: Int, path: String = "", tls: Bool = false) {
        self.host = host
        self.port = port
        self.path = path
        self.tls = tls
    }

    /// nil when the text is not an http or https URL with a host and a valid port.
    /// `defaultScheme`: the scheme assumed when the text has none (nil: a scheme is required).
    public init?(_ url: String, defaultScheme: String? = nil) {
        var rest = Substring(url)
        if let range = rest.firstRange(of: "://") {
            switch rest[..<range.lowerBound].lowercased() {
            case "http": tls = false
            case "https": tls = true
            default: return nil
            }
            rest = rest[range.upperBound...]
        } else {
            switch defaultScheme {
            case "http": tls = false
            case "https": tls = true
            default: return nil
            }
        }
        let defaultPort = tls ? 443 : 80
        let authority = rest.prefix(while: { $0 != "/" && $0 != "?" })
        var path = String(rest.dropFirst(authority.count))
        while path.hasSuffix("/") { path.removeLast() }
        self.path = path
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.isEmpty { port = defaultPort } else {
                guard after.first == ":", let p = Int(after.dropFirst()) else { return nil }
                port = p
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let p = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = p
        } else {
            host = String(authority)
            port = defaultPort
        }
        guard !host.isEmpty, !host.contains("@"), (1...65535).contains(port) else { return nil }
    }

    /// `host[:port]` for the `Host` header: the port only when it is not the scheme's default,
    /// IPv6 literals in brackets.
    public var authority: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == (tls ? 443 : 80) ? h : "\(h):\(port)"
    }

    public var description: String { "\(tls ? "https" : "http")://\(authority)\(path)" }
}
