import CollectorCore
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Transport

/// The `health_check` extension: `GET <path>` answers 200 while the pipelines run and 503
/// otherwise (starting, reloading a failed config, shutting down), with the OTel Collector's
/// JSON body. With `tls` it serves HTTPS (certificates re-read on SIGHUP).
public final class HealthCheckExtension: Extension, CertificateReloading {
    private struct State: Sendable {
        var running = false
        /// Wall-clock ns since the epoch when the pipelines last started.
        var since: UInt64 = 0
    }

    private let settings: HealthCheckSettings
    private let state = Mutex(State())
    private let server: Mutex<HTTPServer?> = Mutex(nil)
    private let logger: Logger

    public init(settings: HealthCheckSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    public func start() throws {
        let path = settings.path
        let tls = try settings.tls.map { settings throws(ComponentError) in
            do { return try TLSServerContext(settings: settings) } catch { throw .permanent("\(error)") }
        }
        let s = HTTPServer(endpoint: try Endpoint(parsing: settings.endpoint), limits: HTTPServerLimits(
            maxBodyBytes: 64 * 1024, idleTimeoutNanos: settings.listener.idleTimeoutNanos,
            requestReadTimeoutNanos: settings.listener.readTimeoutNanos,
            headerReadTimeoutNanos: settings.listener.readHeaderTimeoutNanos), tls: tls) { [weak self] request, respond in
            guard let self, request.path == path else {
                return respond(HTTPResponse(status: 404, headers: [("Content-Type", "text/plain")], body: Array("404 page not found\n".utf8)))
            }
            respond(self.response())
        }
        try s.start()
        server.withLock { $0 = s }
        logger.info("health_check listening on \(tls == nil ? "http" : "https")://\(settings.endpoint)")
    }

    public func reloadCertificates() throws {
        try server.withLock { $0?.tls }?.reload()
    }

    func response() -> HTTPResponse {
        let snapshot = state.withLock { $0 }
        let body: String
        let status: Int
        if snapshot.running {
            let since = RFC3339.format(nanoseconds: snapshot.since, digits: 9)
            let uptimeMs = (Self.wallNanoseconds() - snapshot.since) / 1_000_000
            body = "{\"status\":\"Server available\",\"upSince\":\"\(since)\",\"uptime\":\"\(uptimeMs / 1000).\(String(uptimeMs % 1000 + 1000).dropFirst())s\"}"
            status = 200
        } else {
            body = "{\"status\":\"Server not available\",\"upSince\":\"0001-01-01T00:00:00Z\",\"uptime\":\"\"}"
            status = 503
        }
        return HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: Array(body.utf8))
    }

    public func pipelinesChanged(running: Bool) {
        state.withLock { s in
            if running && !s.running { s.since = Self.wallNanoseconds() }
            s.running = running
        }
    }

    static func wallNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    public func shutdown(deadline: DispatchTime, completion: @escaping @Sendable () -> Void) {
        pipelinesChanged(running: false)
        guard let s = server.withLock({ v in defer { v = nil }; return v }) else { return completion() }
        s.shutdown(deadline: deadline, completion: completion)
    }
}
