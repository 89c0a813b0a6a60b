import CollectorCore
import Dispatch
import TLSSettings
import Transport

/// Serves the registry on `service.telemetry.metrics.address` at `/metrics` in the Prometheus
/// text format, over HTTPS with `service.telemetry.metrics.tls`.
final class MetricsEndpoint: Sendable, CertificateReloading {
    let address: String
    let tlsSettings: TLSServerSettings?
    private let server: HTTPServer

    init(address: String, tls: TLSServerSettings?, metrics: MetricsRegistry) throws {
        self.address = address
        self.tlsSettings = tls
        let context: TLSServerContext?
        do { context = try tls.map { try TLSServerContext(settings: $0) } } catch {
            throw ComponentError.permanent("service.telemetry.metrics.\(error)")
        }
        server = HTTPServer(endpoint: try Endpoint(parsing: address), limits: HTTPServerLimits(), tls: context) { request, respond in
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

    func reloadCertificates() throws { try server.tls?.reload() }

    func shutdown(deadline: DispatchTime, completion: @escaping @Sendable () -> Void) {
        server.shutdown(deadline: deadline, completion: completion)
    }
}
