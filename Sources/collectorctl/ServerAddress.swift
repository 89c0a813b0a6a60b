import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the query API listens: `http://host:port[/base]`.
///
/// Accepted forms: `http://127.0.0.1:16686`, `http://[::1]:16686`, `http://query.local`
/// (port 80), `http://host:16686/prefix` (paths are appended to `/prefix`), and `host:port`
/// without a scheme. Only plain HTTP is spoken.
struct ServerAddress: Equatable, CustomStringConvertible {
    static let defaultURL = "http://127.0.0.1:16686"
    static let environmentVariable = "COLLECTORCTL_ENDPOINT"

    var host: String
    var port: Int
    /// Path prefix without trailing slash ("" for none).
    var basePath: String

    init(host: String, port: Int, basePath: String = "") {
        self.host = host
        self.port = port
        self.basePath = basePath
    }

    init(parsing text: String) throws(CLIError) {
        var rest = Substring(text)
        if let range = rest.firstRange(of: "://") {
            let scheme = rest[..<range.lowerBound].lowercased()
            guard scheme == "http" else {
                throw CLIError(.invalidInput, "invalid endpoint \"\(text)\": only http:// is supported")
            }
            rest = rest[range.upperBound...]
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        var path = String(rest[slash...])
        while path.hasSuffix("/") { path.removeLast() }
        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw CLIError(.invalidInput, "invalid endpoint \"\(text)\": missing ']'")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw CLIError(.invalidInput, "invalid endpoint \"\(text)\": unexpected text after ']'")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw CLIError(.invalidInput, "invalid endpoint \"\(text)\": no host") }
        var port = 80
        if let portText {
            guard let n = Int(portText), (1...65535).contains(n) else {
                throw CLIError(.invalidInput, "invalid endpoint \"\(text)\": port must be 1 to 65535")
            }
            port = n
        }
        self.init(host: String(host), port: port, basePath: path)
    }

    /// `host:port` for the `Host` header (IPv6 literals in brackets).
    var authority: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    var description: String { "http://\(authority)\(basePath)" }
}

/// `--endpoint`, shared by the subcommands.
struct ServerOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The query API, e.g. http://127.0.0.1:16686 (default: $\(ServerAddress.environmentVariable), else \(ServerAddress.defaultURL)).",
        valueName: "url"))
    var endpoint: String?

    /// The address from `--endpoint`, else the environment, else the default.
    func address(environment: [String: String] = ServerOptions.environment()) throws(CLIError) -> ServerAddress {
        let text = endpoint ?? environment[ServerAddress.environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
            ?? ServerAddress.defaultURL
        return try ServerAddress(parsing: text)
    }

    static func environment() -> [String: String] {
        guard let value = getenv(ServerAddress.environmentVariable) else { return [:] }
        return [ServerAddress.environmentVariable: String(cString: value)]
    }
}
