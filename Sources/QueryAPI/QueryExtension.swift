import BackendResolver
import CollectorCore
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Store
import Synchronization
import Transport

/// The `query` extension: serves `QueryHandler` (Jaeger- and Tempo-compatible trace queries
/// over the store) on HTTP/1.1 and h2c at `settings.endpoint`.
///
/// Threading: the server calls the handler on its connection queues, which must not block;
/// each request is answered from a concurrent Dispatch queue instead, where reading the store
/// (disk reads, decompression) may block. Responses may complete out of order; the server
/// keeps HTTP/1.1 answers in request order.
///
/// Bounds: at most `max_concurrent_queries` are answered at once (more get 503 with
/// Retry-After at once); each reads under a `ReadBudget` of `timeout` and
/// `max_blocks_per_query`, cancelled when its client goes away or the extension shuts down,
/// and answers with what it found when the budget stops it, marked partial (the
/// `X-Partial-Result` header says why; Jaeger answers also carry an error entry with code 206).
///
/// With `tls` it serves HTTPS (certificates re-read on SIGHUP through `reloadCertificates`);
/// with `auth` every request needs the authenticator's `Authorization` (401 otherwise, before
/// it counts as a query).
///
/// Lifecycle (the `Extension` contract): `start` binds and returns; `shutdown` is idempotent,
/// safe without `start`, cancels the queries running (they answer partial at their next block)
/// and stops accepting, letting requests in flight finish until the deadline.
public final class QueryExtension: Extension, CertificateReloading {
    private let settings: QuerySettings
    /// Answers from this node's store only (peers' requests to this node).
    private let handler: QueryHandler
    /// Answers for the fleet: this node and its peers (`peers`); the local handler without them.
    private let fleetHandler: QueryHandler
    /// The k8s peers resolver's watch, started and stopped with the extension.
    private let peerWatch: K8sResolver?
    private let logger: Logger
    private let metrics: MetricsRegistry
    private let server: Mutex<HTTPServer?> = Mutex(nil)
    private let work = DispatchQueue(label: "collectord.query", qos: .utility, attributes: .concurrent)
    private let running = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let clock: @Sendable () -> UInt64
    private let auth: ListenerAuth?

    /// - Parameters:
    ///   - reader: where traces are read (the store; a fake in tests).
    ///   - clock: monotonic nanoseconds for query deadlines (injected by tests).
    ///   - auth: the authenticator every request must satisfy (nil: none).
    public init(settings: QuerySettings, reader: any TraceReader, logger: Logger, metrics: MetricsRegistry = MetricsRegistry(),
                clock: @escaping @Sendable () -> UInt64 = ReadBudget.monotonicNow, auth: ListenerAuth? = nil) {
        self.settings = settings
        self.handler = QueryHandler(reader: reader)
        if let peers = settings.peers {
            let resolver: any Resolver
            if let k8s = peers.k8s, let watcher = try? K8sResolver(settings: k8s, environment: K8sResolver.processEnvironment(), logger: logger) {
                resolver = watcher
                peerWatch = watcher
            } else {
                if peers.k8s != nil { logger.error("query peers: the k8s resolver cannot start (no Kubernetes connection or namespace)") }
                resolver = peers.dnsHostname.map { DNSResolver(hostname: $0, port: peers.dnsPort) } ?? StaticResolver(peers.endpoints)
                peerWatch = nil
            }
            let resolved = ResolvedEndpoints(resolver, interval: peers.k8s == nil ? peers.intervalNanos : 0) { error in
                logger.warn("query peers: \(error) (keeping the last peers found)")
            }
            self.fleetHandler = QueryHandler(reader: PeeredReader(local: reader, peers: resolved, timeoutNanos: peers.timeoutNanos,
                                                                 tls: peers.tls, headers: peers.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
        } else {
            self.fleetHandler = handler
            peerWatch = nil
        }
        self.logger = logger
        self.metrics = metrics
        self.clock = clock
        self.auth = auth
    }

    public func start() throws {
        peerWatch?.start()
        let listener = settings.listener
        let limits = HTTPServerLimits(maxBodyBytes: 64 * 1024, idleTimeoutNanos: listener.idleTimeoutNanos,
                                      requestReadTimeoutNanos: listener.readTimeoutNanos,
                                      headerReadTimeoutNanos: listener.readHeaderTimeoutNanos)
        let refused = metrics.counter("collectord_query_refused_total",
                                      help: "Queries answered 503 because max_concurrent_queries were running")
        for reason in [ReadBudget.Stop.deadline, .blocks, .cancelled] { _ = partialCounter(reason) }
        let tls = try settings.tls.map { settings throws(ComponentError) in
            do { return try TLSServerContext(settings: settings) } catch { throw .permanent("\(error)") }
        }
        let s = HTTPServer(endpoint: try Endpoint(parsing: settings.endpoint), limits: limits, tls: tls) { [self] request, respond in
            if let challenge = auth?.refusal(authorization: request.headers["authorization"]) {
                return respond(Self.unauthorized(challenge))
            }
            guard running.add(1, ordering: .relaxed).newValue <= settings.maxConcurrentQueries else {
                running.subtract(1, ordering: .relaxed)
                refused.increment()
                var busy = HTTPResponse.text(503, "too many queries at once (max_concurrent_queries \(settings.maxConcurrentQueries)); retry later\n")
                busy.headers.add(name: "Retry-After", value: "1")
                return respond(busy)
            }
            work.async { [self] in
                defer { running.subtract(1, ordering: .relaxed) }
                respond(answer(request))
            }
        }
        try s.start()
        server.withLock { $0 = s }
        logger.info("query API (Jaeger and Tempo) listening on \(tls == nil ? "http" : "https")://\(s.boundEndpoint?.description ?? settings.endpoint)\(auth.map { ", with \($0.id)" } ?? "")")
    }

    public func reloadCertificates() throws {
        try server.withLock { $0?.tls }?.reload()
    }

    /// 401 with the authenticator's challenge (`WWW-Authenticate: Bearer`).
    static func unauthorized(_ challenge: String) -> HTTPResponse {
        HTTPResponse(status: 401, headers: [("Content-Type", "text/plain; charset=utf-8"), ("WWW-Authenticate", challenge)],
                     body: Array("401 unauthorized: missing or invalid authorization\n".utf8))
    }

    /// The port actually bound, once started (tests listen on port 0).
    public var boundPort: Int? {
        server.withLock { $0?.boundPort }
    }

    public func shutdown(deadline: DispatchTime, completion: @escaping @Sendable () -> Void) {
        stopping.store(true, ordering: .relaxed)
        peerWatch?.stop()
        guard let s = server.withLock({ v in defer { v = nil }; return v }) else { return completion() }
        s.shutdown(deadline: deadline, completion: completion)
    }

    /// Answers one request under its own read budget.
    func answer(_ request: HTTPRequest) -> HTTPResponse {
        let cancellation = request.cancellation
        let budget = ReadBudget(deadline: clock() &+ settings.timeoutNanos, maxBlocks: settings.maxBlocksPerQuery, clock: clock,
                                cancelled: { [self] in cancellation.isCancelled || stopping.load(ordering: .relaxed) })
        // A peer's request is answered from this node's store alone (no fan-out loops).
        let base = request.headers[PeerClient.peerHeader] == nil ? fleetHandler : handler
        var response = Self.answer(request, base.with(budget), logger)
        if let stop = budget.stop { partialCounter(stop).increment() }
        if let reason = budget.partialReason {
            response.headers.add(name: "X-Partial-Result", value: reason)
            logger.warn("\(request.method) \(request.target): partial answer, \(reason) (\(budget.blocksRead) blocks read)")
        }
        return response
    }

    private func partialCounter(_ reason: ReadBudget.Stop) -> Counter {
        let name = switch reason {
        case .deadline: "deadline"
        case .blocks: "blocks"
        case .cancelled: "cancelled"
        }
        return metrics.counter("collectord_query_partial_total",
                               help: "Queries answered with what they had read when their budget stopped them, by reason",
                               labels: [("reason", name)])
    }

    static func answer(_ request: HTTPRequest, _ handler: QueryHandler, _ logger: Logger) -> HTTPResponse {
        let result = handler.handle(method: request.method, path: request.path, query: request.query,
                                    accept: request.headers["accept"])
        if result.status >= 500 {
            logger.warn("\(request.method) \(request.target): \(result.status) \(result.text)")
        }
        var headers: HTTPHeaders = [("Content-Type", result.contentType)]
        if result.status == 405 { headers.add(name: "Allow", value: "GET, HEAD") }
        return HTTPResponse(status: result.status, headers: headers, body: result.body)
    }
}
