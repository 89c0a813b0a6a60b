import CollectorCore
import Dispatch
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
/// Lifecycle (the `Extension` contract): `start` binds and returns; `shutdown` is idempotent,
/// safe without `start`, stops accepting and lets requests in flight finish until the deadline.
public final class QueryExtension: Extension {
    private let settings: QuerySettings
    private let handler: QueryHandler
    private let logger: Logger
    private let server: Mutex<HTTPServer?> = Mutex(nil)
    private let work = DispatchQueue(label: "collectord.query", qos: .utility, attributes: .concurrent)

    /// - Parameter reader: where traces are read (the store; a fake in tests).
    public init(settings: QuerySettings, reader: any TraceReader, logger: Logger) {
        self.settings = settings
        self.handler = QueryHandler(reader: reader)
        self.logger = logger
    }

    public func start() throws {
        let handler = self.handler
        let work = self.work
        let logger = self.logger
        let s = HTTPServer(endpoint: try Endpoint(parsing: settings.endpoint), limits: HTTPServerLimits(maxBodyBytes: 64 * 1024)) {
            request, respond in
            work.async {
                respond(Self.answer(request, handler, logger))
            }
        }
        try s.start()
        server.withLock { $0 = s }
        logger.info("query API (Jaeger and Tempo) listening on \(s.boundEndpoint?.description ?? settings.endpoint)")
    }

    /// The port actually bound, once started (tests listen on port 0).
    public var boundPort: Int? {
        server.withLock { $0?.boundPort }
    }

    public func shutdown(deadline: DispatchTime, completion: @escaping @Sendable () -> Void) {
        guard let s = server.withLock({ v in defer { v = nil }; return v }) else { return completion() }
        s.shutdown(deadline: deadline, completion: completion)
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
