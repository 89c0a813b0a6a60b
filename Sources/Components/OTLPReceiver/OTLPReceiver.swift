import CollectorCore
import Dispatch
import Synchronization
import TLSSettings
import Transport

/// The `otlp` receiver: OTLP/gRPC and OTLP/HTTP listeners feeding the traces and logs pipelines.
///
/// Reload: `reconfigure` applies new settings to a running receiver. A listener whose endpoint is
/// unchanged keeps its socket (only its limits, handler and TLS certificates are updated), so
/// clients see no refused connection; a changed endpoint gets a new listener and the old one is
/// shut down gracefully (its in-flight requests are still answered). TLS certificates are read
/// before anything changes, so a bad file leaves the running receiver as it was; with
/// unchanged settings, `reloadCertificates` re-reads them (SIGHUP).
public final class OTLPReceiver: ReconfigurableReceiver, CertificateReloading {
    private struct State: Sendable {
        var settings: OTLPSettings
        var grpc: GRPCServer?
        var http: HTTPServer?
    }

    public let name: String
    private let ingest: OTLPIngest
    private let state: Mutex<State>
    private let logger: Logger

    private let authenticators: AuthenticatorRegistry

    /// - Parameter authenticators: where the protocols' `auth.authenticator` is found.
    public init(name: String, settings: OTLPSettings, metrics: MetricsRegistry, logger: Logger,
                authenticators: AuthenticatorRegistry = AuthenticatorRegistry()) {
        self.name = name
        self.ingest = OTLPIngest(receiverName: name, metrics: metrics)
        self.state = Mutex(State(settings: settings))
        self.logger = logger
        self.authenticators = authenticators
    }

    public func setConsumer(_ consumer: (any Consumer)?, for signal: Signal) {
        ingest.setConsumer(consumer, for: signal)
    }

    public func start() throws {
        let settings = state.withLock { $0.settings }
        let tls = try Self.tlsContexts(settings)
        let grpc = try settings.grpc.map { try startGRPC($0, tls: tls.grpc) }
        let http: HTTPServer?
        do {
            http = try settings.http.map { try startHTTP($0, tls: tls.http) }
        } catch {
            grpc?.shutdown(deadline: .now(), completion: {})
            throw error
        }
        state.withLock {
            $0.grpc = grpc
            $0.http = http
        }
    }

    /// Both protocols' TLS credentials, read now: a bad file is an error naming it.
    static func tlsContexts(_ settings: OTLPSettings) throws -> (grpc: TLSServerContext?, http: TLSServerContext?) {
        func load(_ tls: TLSServerSettings?, _ proto: String) throws -> TLSServerContext? {
            guard let tls else { return nil }
            do { return try TLSServerContext(settings: tls) } catch {
                throw ComponentError.permanent("protocols.\(proto).\(error)")
            }
        }
        return (try load(settings.grpc?.tls, "grpc"), try load(settings.http?.tls, "http"))
    }

    private func auth(_ id: ComponentID?) -> ListenerAuth? { id.map { ListenerAuth(id: $0, registry: authenticators) } }

    private func httpHandler(_ s: OTLPSettings.HTTP) -> HTTPHandler {
        let handler = OTLPHTTPHandler(ingest: ingest, settings: s, auth: auth(s.auth))
        return { handler.handle($0, respond: $1) }
    }

    private func startGRPC(_ s: OTLPSettings.GRPC, tls: TLSServerContext?) throws -> GRPCServer {
        let server = GRPCServer(endpoint: try Endpoint(parsing: s.endpoint),
                                maxMessageBytes: s.maxRecvMsgSizeMiB * 1024 * 1024,
                                headerLimits: s.headerLimits, tls: tls, handler: OTLPGRPCHandler.handler(ingest, auth: auth(s.auth)))
        let ingest = self.ingest
        server.setRefusalObserver { ingest.rejected(code: $0.code, transport: "grpc") }
        try server.start()
        ingest.registerMetrics(transport: "grpc")
        logger.info("OTLP/gRPC listening on \(s.endpoint) (port \(server.boundPort.map(String.init) ?? "?"))\(tls == nil ? "" : " with TLS")")
        return server
    }

    private func startHTTP(_ s: OTLPSettings.HTTP, tls: TLSServerContext?) throws -> HTTPServer {
        let server = HTTPServer(endpoint: try Endpoint(parsing: s.endpoint), limits: s.limits, tls: tls, handler: httpHandler(s))
        let ingest = self.ingest
        server.setRefusalObserver { ingest.rejected(code: $0.code, transport: "http") }
        try server.start()
        ingest.registerMetrics(transport: "http")
        logger.info("OTLP/HTTP listening on \(s.endpoint) (port \(server.boundPort.map(String.init) ?? "?"))\(tls == nil ? "" : " with TLS")")
        return server
    }

    /// Applies `settings` to the running receiver, keeping listeners whose endpoint did not change.
    public func reconfigure(_ settings: any ComponentSettings) throws -> Bool {
        guard let settings = settings as? OTLPSettings else { return false }
        try reconfigure(settings)
        return true
    }

    /// Applies `settings` to the running receiver, keeping listeners whose endpoint did not change.
    public func reconfigure(_ settings: OTLPSettings) throws {
        let old = state.withLock { $0 }
        let tls = try Self.tlsContexts(settings)
        let oldGRPCTLS = old.grpc?.tls
        var next = State(settings: settings)
        var retired: [() -> Void] = []
        if let g = settings.grpc {
            if let server = old.grpc, old.settings.grpc?.endpoint == g.endpoint {
                server.setMaxMessageBytes(g.maxRecvMsgSizeMiB * 1024 * 1024)
                server.setHeaderLimits(g.headerLimits)
                server.setTLS(tls.grpc)
                server.setHandler(OTLPGRPCHandler.handler(ingest, auth: auth(g.auth)))
                next.grpc = server
            } else {
                next.grpc = try startGRPC(g, tls: tls.grpc)
                if let server = old.grpc { retired.append { server.shutdown(deadline: .now() + 30, completion: {}) } }
            }
        } else if let server = old.grpc {
            retired.append { server.shutdown(deadline: .now() + 30, completion: {}) }
        }
        if let h = settings.http {
            if let server = old.http, old.settings.http?.endpoint == h.endpoint {
                server.setLimits(h.limits)
                server.setTLS(tls.http)
                server.setHandler(httpHandler(h))
                next.http = server
            } else {
                do {
                    next.http = try startHTTP(h, tls: tls.http)
                } catch {
                    // Leave the running receiver as it was: a gRPC server started for the new
                    // settings goes, a kept one gets its old limit back.
                    if let started = next.grpc, started !== old.grpc { started.shutdown(deadline: .now(), completion: {}) }
                    if let kept = old.grpc, let g = old.settings.grpc {
                        kept.setMaxMessageBytes(g.maxRecvMsgSizeMiB * 1024 * 1024)
                        kept.setHeaderLimits(g.headerLimits)
                        kept.setTLS(oldGRPCTLS)
                        kept.setHandler(OTLPGRPCHandler.handler(ingest, auth: auth(g.auth)))
                    }
                    throw error
                }
                if let server = old.http { retired.append { server.shutdown(deadline: .now() + 30, completion: {}) } }
            }
        } else if let server = old.http {
            retired.append { server.shutdown(deadline: .now() + 30, completion: {}) }
        }
        state.withLock { $0 = next }
        for r in retired { r() }
    }

    /// Re-reads the TLS certificates of both listeners (the settings did not change).
    public func reloadCertificates() throws {
        let (g, h) = state.withLock { ($0.grpc?.tls, $0.http?.tls) }
        var failures: [String] = []
        for (tls, proto) in [(g, "grpc"), (h, "http")] {
            guard let tls else { continue }
            do { try tls.reload() } catch { failures.append("protocols.\(proto).\(error)") }
        }
        if !failures.isEmpty { throw ComponentError.permanent(failures.joined(separator: "; ")) }
    }

    public func stopAccepting() {
        let (g, h) = state.withLock { ($0.grpc, $0.http) }
        g?.stopAccepting()
        h?.stopAccepting()
    }

    public func shutdown(deadline: DispatchTime, completion: @escaping @Sendable () -> Void) {
        let (g, h) = state.withLock { s in
            defer { s.grpc = nil; s.http = nil }
            return (s.grpc, s.http)
        }
        let group = DispatchGroup()
        if let g {
            group.enter()
            g.shutdown(deadline: deadline) { group.leave() }
        }
        if let h {
            group.enter()
            h.shutdown(deadline: deadline) { group.leave() }
        }
        group.notify(queue: .global()) { completion() }
    }
}
