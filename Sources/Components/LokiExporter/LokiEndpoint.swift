/// A parsed `http[s]://host[:port]/path` push URL.
struct LokiEndpoint: Sendable, Equatable {
    var host: String
    var port: Int
    var path: String
    var tls: Bool

    init?(_ url: String) {
        let scheme: String
        if url.hasPrefix("http://") { scheme = "http://"; tls = false }
        else if url.hasPrefix("https://") { scheme = "https://"; tls = true }
        else { return nil }
        let defaultPort = tls ? 443 : 80
        let rest = url.dropFirst(scheme.count)
        let authority = rest.prefix(while: { $0 != "/" })
        let path = rest.dropFirst(authority.count)
        self.path = path.isEmpty ? "/loki/api/v1/push" : String(path)
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
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
    }

    var authority: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == (tls ? 443 : 80) ? h : "\(h):\(port)"
    }
}
