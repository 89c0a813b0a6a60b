import HTTPClient


/// The query API over the shared HTTP client: one `GET` at a time, failures as `CLIError`s.
/// Failures to resolve, connect or get an answer in time are `.unreachable`; a connection that
/// breaks mid-answer or an answer that does not parse is `.server`.
struct QueryHTTP {
    var server: ServerAddress
    let client: HTTPClient

    init(server: ServerAddress, timeout: Duration = .seconds(15)) {
        self.server = server
        let endpoint = HTTPEndpoint(host: server.host, port: server.port, path: server.basePath)
        // Plain http: no TLS context, so the initializer cannot fail.
        client = try! HTTPClient(endpoint: endpoint, timeoutNanos: UInt64(timeout.components.seconds) * 1_000_000_000,
                                 userAgent: "collectorctl", maxIdleConnections: 1)
    }

    func get(_ path: String, accept: String) throws(CLIError) -> HTTPResponse {
        switch client.send(HTTPRequest(path: path, headers: [("Accept", accept)])) {
        case .success(let response):
            return response
        case .failure(let error):
            switch error.kind {
            case .resolve, .connect, .timeout:
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
