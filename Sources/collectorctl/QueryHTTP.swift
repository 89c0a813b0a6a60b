import HTTPClient


/// The query API over the shared HTTP client: one `GET` at a time, failures as `CLIError`s.
/// Failures to resolve, connect, complete the TLS handshake or get an answer in time are
/// `.unreachable`; a 401 is `.unauthorized`; a connection that breaks mid-answer or an answer
/// that does not parse is `.server`.
struct QueryHTTP {
    var server: ServerAddress
    let client: HTTPClient
    /// Sent as `Authorization: Bearer <token>`.
    let token: String?

    /// - Throws: `.invalidInput` when the TLS files cannot be loaded.
    init(server: ServerAddress, tls: TLSClientSettings = TLSClientSettings(), token: String? = nil,
         timeout: Duration = .seconds(15)) throws(CLIError) {
        self.server = server
        self.token = token
        let endpoint = HTTPEndpoint(host: server.host, port: server.port, path: server.basePath, tls: server.tls)
        do {
            client = try HTTPClient(endpoint: endpoint, tls: tls, timeoutNanos: UInt64(timeout.components.seconds) * 1_000_000_000,
                                    userAgent: "collectorctl", maxIdleConnections: 1)
        } catch {
            // Name the flag: "tls.ca_file /x: ..." -> "--ca-file /x: ...".
            var message = error.description
            for (key, flag) in [("tls.ca_file", "--ca-file"), ("tls.cert_file", "--cert-file"), ("tls.key_file", "--key-file")]
            where message.hasPrefix(key) {
                message = flag + message.dropFirst(key.count)
            }
            throw CLIError(.invalidInput, message)
        }
    }

    func get(_ path: String, accept: String) throws(CLIError) -> HTTPResponse {
        var headers = [(name: "Accept", value: accept)]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        switch client.send(HTTPRequest(path: path, headers: headers)) {
        case .success(let response):
            guard response.status != 401 else {
                throw CLIError(.unauthorized, token == nil
                    ? "\(server) requires a bearer token: pass --token or set \(ServerOptions.tokenVariable)"
                    : "\(server) refused the bearer token (401)")
            }
            return response
        case .failure(let error):
            switch error.kind {
            case .resolve, .connect, .timeout, .tls:
                throw CLIError(.unreachable, "cannot reach \(server): \(Self.reason(error))")
            default:
                throw CLIError(.server, "\(server): \(Self.reason(error))")
            }
        }
    }

    /// The error's cause without the peer ("connection refused").
    static func reason(_ error: HTTPClientError) -> String {
        guard let first = error.reason.first else { return "" }
        return first.lowercased() + error.reason.dropFirst()
    }
}
