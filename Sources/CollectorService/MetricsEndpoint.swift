import CollectorCore
import Dispatch
import Transport

/// Serves the registry on `service.telemetry.metrics.address` at `/metrics` in the Prometheus
/// text format.
final class MetricsEndpoint: Sendable {
    let address: String
    private let server: HTTPServer

    init(address: String, metrics: MetricsRegistry) throws {
        self.address = address
        server = HTTPServer(endpoint: try Endpoint(parsing: address), limits: HTTPServerLimits()) { request, respond in
            guard request.path == "/metrics" else {
                return respond(HTTPResponse(status: 404, headers: [("Content-Type", "text/plain")], body: Array("404 page not found\n".utf8)))
            }
            guard request.method == "GET" || request.method == "HEAD" else {
                return respond(HTTPResponse(status: 405, headers: [("Allow", "GET")], body: []))
            }
            respond(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
                                 body: Array(metrics.render().utf8)))
        }
        try server.start()
    }

    var port: Int? { server.boundPort }

    func shutdown(deadline: DispatchTime, completion: @escaping @Sendable () -> Void) {
        server.shutdown(deadline: deadline, completion: completion)
    }
}
