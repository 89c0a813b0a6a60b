import Dispatch

/// Handles one request. Called on the connection's queue: it must not block (hand the work
/// elsewhere and return). `respond` must be called exactly once, from any thread, at any
/// later time; extra calls are ignored, and a response for a connection or stream that has
/// gone away is dropped. Responses may complete out of order: HTTP/1.1 writes them in request
/// order, HTTP/2 streams are independent.
public typealias HTTPHandler = @Sendable (HTTPRequest, _ respond: @escaping @Sendable (HTTPResponse) -> Void) -> Void

/// An HTTP/1.1 server (keep-alive, sequential pipelining) that also serves HTTP/2 with prior
/// knowledge (h2c) on the same port, delivering the same ``HTTPRequest`` to the same handler.
///
/// Lifecycle: ``start()`` binds and returns at once; ``stopAccepting()`` closes only the
/// listening socket; ``shutdown(deadline:completion:)`` stops accepting, lets in-flight
/// requests be answered until the deadline (HTTP/2 peers get GOAWAY), then closes everything.
/// Shutdown is idempotent and safe without `start`. A server is started at most once; to keep
/// a listener across a configuration reload, keep the object and call ``setHandler(_:)`` and
/// ``setLimits(_:)``: requests that start afterwards see the new values.
///
/// Threading: every method is thread-safe. The handler runs on connection queues and must
/// not block (see ``HTTPHandler``). Call `shutdown` before dropping the last reference;
/// dropping it only stops accepting.
public final class HTTPServer: Sendable {
    /// The endpoint as configured (port 0 stays 0; see ``boundPort``).
    public let endpoint: Endpoint
    private let router: HTTPRouter
    private let core: ServerCore

    /// - Parameters:
    ///   - budget: bounds the bytes of unfinished requests, with every other server using the
    ///     same budget (the process-wide ``RequestBudget/shared`` by default).
    ///   - tls: serve HTTPS (ALPN "h2" and "http/1.1") with these credentials; nil: plain TCP.
    public init(endpoint: Endpoint, limits: HTTPServerLimits = HTTPServerLimits(), budget: RequestBudget = .shared,
                tls: TLSServerContext? = nil, handler: @escaping HTTPHandler) {
        self.endpoint = endpoint
        self.router = HTTPRouter(limits: limits, handler: handler)
        self.core = ServerCore(endpoint: endpoint, router: router, budget: budget, tls: tls)
    }

    deinit { core.stopAccepting() }

    /// Binds and starts accepting. Returns once the socket listens.
    /// - Throws: ``TransportError``, e.g. `listen 0.0.0.0:4317: Address already in use`, or
    ///   `.invalidState` when started twice or after shutdown.
    public func start() throws { try core.start() }

    /// The port actually bound, once started (the ephemeral port when configured with 0).
    public var boundPort: Int? { core.boundPort }

    /// The configured endpoint with the bound port, once started.
    public var boundEndpoint: Endpoint? { core.boundPort.map(endpoint.withPort) }

    /// Number of open connections (for self-metrics and tests).
    public var connectionCount: Int { core.connectionCount }

    /// Applies the connection timeouts as the once-a-second sweep does, at `now` (tests).
    func sweepTimeouts(now: UInt64) { core.sweep(now: now) }
    var connectionActivities: [SessionActivity] { core.activities }
    var connectionTrims: [Int] { core.trims }

    /// Replaces the handler for requests dispatched from now on.
    public func setHandler(_ handler: @escaping HTTPHandler) { router.setHandler(handler) }

    /// Calls `observer` for every request the transport answers by itself (malformed HTTP,
    /// body or headers over the limits): for metrics.
    public func setRefusalObserver(_ observer: RefusalObserver?) { router.setRefusalObserver(observer) }

    /// TLS for connections accepted from now on (nil: plain TCP); open connections keep the
    /// certificates they started with. A kept listener gets reloaded certificates this way.
    public func setTLS(_ tls: TLSServerContext?) { core.tls = tls }

    public var tls: TLSServerContext? { core.tls }

    /// Replaces the limits for requests that start from now on.
    public func setLimits(_ limits: HTTPServerLimits) { router.setLimits(limits) }

    public var limits: HTTPServerLimits { router.limits }

    /// Closes the listening socket; open connections keep being served. Idempotent.
    public func stopAccepting() { core.stopAccepting() }

    /// Graceful shutdown; `completion` runs (on an arbitrary thread) when every connection is
    /// closed, at the latest shortly after `deadline`.
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
