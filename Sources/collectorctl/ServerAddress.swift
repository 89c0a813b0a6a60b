import ArgumentParser
import HTTPClient
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the query API listens: `http[s]://host:port[/base]`.
///
/// Accepted forms: `http://127.0.0.1:16686`, `https://query.local:16686`, `http://[::1]:16686`,
/// `http://query.local` (port 80; https: 443), `http://host:16686/prefix` (paths are appended
/// to `/prefix`), and `host:port` without a scheme (plain HTTP).
struct ServerAddress: Equatable, CustomStringConvertible {
    static let defaultURL = "http://127.0.0.1:16686"
    static let environmentVariable = "COLLECTORCTL_ENDPOINT"

    var host: String
    var port: Int
    /// Path prefix without trailing slash ("" for none).
    var basePath: String
    /// https: TLS.
    var tls: Bool

    init(host: String, port: Int, basePath: String = "", tls: Bool = false) {
        self.host = host
        self.port = port
        self.basePath = basePath
        self.tls = tls
    }

    init(parsing text: String) throws(CLIError) {
        var rest = Substring(text)
        var tls = false
        if let range = rest.firstRange(of: "://") {
            let scheme = rest[..<range.lowerBound].lowercased()
            guard scheme == "http" || scheme == "https" else {
                throw CLIError(.invalidInput, "invalid endpoint \"\(text)\": only http:// and https:// are supported")
            }
            tls = scheme == "https"
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
        var port = tls ? 443 : 80
        if let portText {
            guard let n = Int(portText), (1...65535).contains(n) else {
                throw CLIError(.invalidInput, "invalid endpoint \"\(text)\": port must be 1 to 65535")
            }
            port = n
        }
        self.init(host: String(host), port: port, basePath: path, tls: tls)
    }

    /// `host:port` for the `Host` header (IPv6 literals in brackets).
    var authority: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    var description: String { "\(tls ? "https" : "http")://\(authority)\(basePath)" }
}

/// `--endpoint`, TLS and the token, shared by the subcommands.
struct ServerOptions: ParsableArguments {
    static let tokenVariable = "COLLECTORCTL_TOKEN"

    @Option(name: .long, help: ArgumentHelp(
        "The query API, e.g. http://127.0.0.1:16686 or https://host:16686 (default: $\(ServerAddress.environmentVariable), else \(ServerAddress.defaultURL)).",
        valueName: "url"))
    var endpoint: String?

    @Option(name: .customLong("ca-file"), help: ArgumentHelp("https: trust this CA (PEM) instead of the system's.", valueName: "path"))
    var caFile: String?

    @Option(name: .customLong("cert-file"), help: ArgumentHelp("https: client certificate (PEM), with --key-file.", valueName: "path"))
    var certFile: String?

    @Option(name: .customLong("key-file"), help: ArgumentHelp("https: the client certificate's key (PEM).", valueName: "path"))
    var keyFile: String?

    @Flag(name: .customLong("insecure-skip-verify"), help: "https: do not verify the server's certificate.")
    var insecureSkipVerify = false

    @Option(name: .customLong("server-name"), help: ArgumentHelp("https: the name the server's certificate must carry (default: the endpoint's host).", valueName: "name"))
    var serverName: String?

    @Option(help: ArgumentHelp("Bearer token for the query API's auth (default: $\(ServerOptions.tokenVariable)).", valueName: "token"))
    var token: String?

    /// The address from `--endpoint`, else the environment, else the default.
    func address(environment: [String: String] = ServerOptions.environment()) throws(CLIError) -> ServerAddress {
        let text = endpoint ?? environment[ServerAddress.environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
            ?? ServerAddress.defaultURL
        return try ServerAddress(parsing: text)
    }

    /// The client for the chosen server: TLS settings for https, the token from `--token` or
    /// the environment.
    func connection(environment: [String: String] = ServerOptions.environment()) throws(CLIError) -> QueryHTTP {
        let server = try address(environment: environment)
        if (certFile == nil) != (keyFile == nil) {
            throw CLIError(.invalidInput, "--cert-file and --key-file go together")
        }
        var tls = TLSClientSettings()
        tls.caFile = caFile
        tls.certFile = certFile
        tls.keyFile = keyFile
        tls.insecureSkipVerify = insecureSkipVerify
        tls.serverNameOverride = serverName
        if !server.tls && tls != TLSClientSettings() {
            throw CLIError(.invalidInput, "--ca-file, --cert-file, --key-file, --insecure-skip-verify and --server-name need an https:// endpoint (got \(server))")
        }
        let token = token ?? environment[Self.tokenVariable].flatMap { $0.isEmpty ? nil : $0 }
        return try QueryHTTP(server: server, tls: tls, token: token)
    }

    static func environment() -> [String: String] {
        var values: [String: String] = [:]
        for name in [ServerAddress.environmentVariable, tokenVariable] {
            if let value = getenv(name) { values[name] = String(cString: value) }
        }
        return values
    }
}
