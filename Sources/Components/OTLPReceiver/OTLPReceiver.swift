import CollectorCore
import Dispatch
import Synchronization
import Transport

/// The `otlp` receiver: OTLP/gRPC and OTLP/HTTP listeners feeding the traces and logs pipelines.
///
/// Reload: `reconfigure` applies new settings to a running receiver. A listener whose endpoint is
/// unchanged keeps its socket (only its limits and handler are updated), so clients see no
/// refused connection; a changed endpoint gets a new listener and the old one is shut down
/// gracefully (its in-flight requests are still answered).
public final class OTLPReceiver: ReconfigurableReceiver {
    private struct State: Sendable {
        var settings: OTLPSettings
        var grpc: GRPCServer?
        var http: HTTPServer?
    }

    public let name: String
    private let ingest: OTLPIngest
    private let state: Mutex<State>
    private let logger: Logger

    public init(name: String, settings: OTLPSettings, metrics: MetricsRegistry, logger: Logger) {
        self.name = name
        self.ingest = OTLPIngest(receiverName: name, metrics: metrics)
        self.state = Mutex(State(settings: settings))
        self.logger = logger
    }

    public func setConsumer(_ consumer: (any Consumer)?, for signal: Signal) {
        ingest.setConsumer(consumer, for: signal)
    }

    public func start() throws {
        let settings = state.withLock { $0.settings }
        let grpc = try settings.grpc.map(startGRPC)
        let http: HTTPServer?
        do {
            http = try settings.http.map(startHTTP)
        } catch {
            grpc?.shutdown(deadline: .now(), completion: {})
            throw error
        }
        state.withLock {
            $0.grpc = grpc
            $0.http = http
        }
    }

    private func startGRPC(_ s: OTLPSettings.GRPC) throws -> GRPCServer {
        let server = GRPCServer(endpoint: try Endpoint(parsing: s.endpoint),
                                maxMessageBytes: s.maxRecvMsgSizeMiB * 1024 * 1024,
                                headerLimits: s.headerLimits, handler: OTLPGRPCHandler.handler(ingest))
        let ingest = self.ingest
        server.setRefusalObserver { ingest.rejected(code: $0.code, transport: "grpc") }
        try server.start()
        ingest.registerMetrics(transport: "grpc")
        logger.info("OTLP/gRPC listening on \(s.endpoint) (port \(server.boundPort.map(String.init) ?? "?"))")
        return server
    }

    private func startHTTP(_ s: OTLPSettings.HTTP) throws -> HTTPServer {
        let handler = OTLPHTTPHandler(ingest: ingest, settings: s)
        let server = HTTPServer(endpoint: try Endpoint(parsing: s.endpoint), limits: s.limits,
                                handler: { handler.handle($0, respond: $1) })
        let ingest = self.ingest
        server.setRefusalObserver { ingest.rejected(code: $0.code, transport: "http") }
        try server.start()
        ingest.registerMetrics(transport: "http")
        logger.info("OTLP/HTTP listening on \(s.endpoint) (port \(server.boundPort.map(String.init) ?? "?"))")
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
        var next = State(settings: settings)
        var retired: [() -> Void] = []
        if let g = settings.grpc {
            if let server = old.grpc, old.settings.grpc?.endpoint == g.endpoint {
                server.setMaxMessageBytes(g.maxRecvMsgSizeMiB * 1024 * 1024)
                server.setHeaderLimits(g.headerLimits)
                next.grpc = server
            } else {
                next.grpc = try startGRPC(g)
                if let server = old.grpc { retired.append { server.shutdown(deadline: .now() + 30, completion: {}) } }
            }
        } else if let server = old.grpc {
            retired.append { server.shutdown(deadline: .now() + 30, completion: {}) }
        }
        if let h = settings.http {
            if let server = old.http, old.settings.http?.endpoint == h.endpoint {
                server.setLimits(h.limits)
                let handler = OTLPHTTPHandler(ingest: ingest, settings: h)
                server.setHandler { handler.handle($0, respond: $1) }
                next.http = server
            } else {
                do {
                    next.http = try startHTTP(h)
                } catch {
                    // Leave the running receiver as it was: a gRPC server started for the new
                    // settings goes, a kept one gets its old limit back.
                    if let started = next.grpc, started !== old.grpc { started.shutdown(deadline: .now(), completion: {}) }
                    if let kept = old.grpc, let g = old.settings.grpc {
                        kept.setMaxMessageBytes(g.maxRecvMsgSizeMiB * 1024 * 1024)
                        kept.setHeaderLimits(g.headerLimits)
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
