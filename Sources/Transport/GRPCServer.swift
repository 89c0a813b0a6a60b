import Dispatch

/// A unary gRPC server over HTTP/2 with prior knowledge (h2c), on nghttp2.
///
/// Requests are `POST` with `content-type: application/grpc[+proto]` and one length-prefixed
/// message; `grpc-encoding` gzip and zstd are supported; `grpc-timeout` is ignored. Messages larger
/// than ``maxMessageBytes`` (default 4 MiB, like the OpenTelemetry Collector) are refused
/// with RESOURCE_EXHAUSTED on that stream only, as soon as the length prefix shows it; the
/// connection keeps serving other calls. See ``GRPCResponse`` for the response layouts.
///
/// Lifecycle and threading are those of ``HTTPServer``: `start` returns at once,
/// `stopAccepting` closes only the listener, `shutdown` sends GOAWAY and lets in-flight calls
/// be answered until the deadline; everything is thread-safe; the handler must not block.
public final class GRPCServer: Sendable {
    /// The default maximum received message size: 4 MiB.
    public static let defaultMaxMessageBytes = 4 * 1024 * 1024

    public let endpoint: Endpoint
    private let router: GRPCRouter
    private let core: ServerCore

    /// - Parameters:
    ///   - maxMessageBytes: largest accepted message, after decompression.
    ///   - headerLimits: bounds on request headers, streams and timeouts (its `maxBodyBytes` is
    ///     not used).
    ///   - budget: bounds the bytes of unfinished calls, with every other server using it.
    ///   - tls: serve gRPC over TLS (ALPN "h2") with these credentials; nil: h2c.
    public init(endpoint: Endpoint, maxMessageBytes: Int = GRPCServer.defaultMaxMessageBytes,
                headerLimits: HTTPServerLimits = HTTPServerLimits(), budget: RequestBudget = .shared,
                tls: TLSServerContext? = nil, handler: @escaping GRPCHandler) {
        self.endpoint = endpoint
        self.router = GRPCRouter(maxMessageBytes: maxMessageBytes, headerLimits: headerLimits, handler: handler)
        self.core = ServerCore(endpoint: endpoint, router: router, budget: budget, tls: tls)
    }

    deinit { core.stopAccepting() }

    /// Binds and starts accepting. Returns once the socket listens.
    /// - Throws: ``TransportError``, e.g. `listen 0.0.0.0:4317: Address already in use`.
    public func start() throws { try core.start() }

    /// The port actually bound, once started.
    public var boundPort: Int? { core.boundPort }

    /// The configured endpoint with the bound port, once started.
    public var boundEndpoint: Endpoint? { core.boundPort.map(endpoint.withPort) }

    /// Number of open connections.
    public var connectionCount: Int { core.connectionCount }

    /// The current maximum message size.
    public var maxMessageBytes: Int { router.maxMessageBytes }

    /// Calls `observer` for every call the transport answers by itself (malformed framing,
    /// message over the limit, bad compression, wrong method or content type): for metrics.
    public func setRefusalObserver(_ observer: RefusalObserver?) { router.setRefusalObserver(observer) }

    /// Replaces the handler for calls dispatched from now on.
    public func setHandler(_ handler: @escaping GRPCHandler) { router.setHandler(handler) }

    /// TLS for connections accepted from now on (nil: h2c); open connections keep theirs.
    public func setTLS(_ tls: TLSServerContext?) { core.tls = tls }

    public var tls: TLSServerContext? { core.tls }

    /// Changes the maximum message size for calls that start from now on.
    public func setMaxMessageBytes(_ bytes: Int) { router.setMaxMessageBytes(bytes) }

    /// Changes the header bounds for calls that start from now on.
    public func setHeaderLimits(_ limits: HTTPServerLimits) { router.setHeaderLimits(limits) }

    /// Closes the listening socket; open connections keep being served. Idempotent.
    public func stopAccepting() { core.stopAccepting() }

    /// Graceful shutdown (GOAWAY, drain until `deadline`, close); `completion` runs once all
    /// connections are closed. Idempotent, safe without `start`.
    public func shutdown(deadline: DispatchTime, completion: @escaping @Sendable () -> Void) {
        core.shutdown(deadline: deadline, completion: completion)
    }

    /// Async form of ``shutdown(deadline:completion:)``.
    public func shutdown(deadline: DispatchTime) async {
        await withCheckedContinuation { continuation in
            core.shutdown(deadline: deadline) { continuation.resume() }
        }
    }
}
