import Dispatch
import Synchronization
import Transport

/// The HTTP server of a `prometheus` exporter's endpoint, shared by the instances of that one
/// exporter across a reload.
///
/// Design: a SIGHUP reload that changes an exporter's settings builds and starts the new
/// instance before the old one is shut down (see `Service`), and both want the same port. So a
/// server belongs to its endpoint and its exporter's id, not to an instance: `attach` gives an
/// instance the listener of (endpoint, id), made on first use, whose scrapes the most recently
/// attached instance answers; `detach` hands them back to the one attached before, and the last
/// to leave closes the listener (a closed listener is never handed out again). Another exporter
/// id on the same endpoint gets a listener of its own, which then fails to bind ("address in
/// use") as it did before sharing existed; so does port 0 (tests), which is never shared.
/// Endpoints are compared parsed, so `:9464` and `0.0.0.0:9464` are the same.
final class PrometheusListener: Sendable {
    private struct Key: Hashable {
        var endpoint: Endpoint
        var exporter: String
    }

    private static let registry = Mutex<[Key: PrometheusListener]>([:])
    private static let nextID = Atomic<UInt64>(1)

    /// Attached instances' handlers, the one answering last; `started` once bound; `closed`
    /// once the last detached. A class so the server's handler can hold it.
    private final class State: Sendable {
        struct Value {
            var handlers: [(id: UInt64, handler: HTTPHandler)] = []
            var started = false
            var closed = false
        }

        let value = Mutex(Value())
    }

    let server: HTTPServer
    private let key: Key?
    private let state = State()

    private init(endpoint: Endpoint, key: Key?) {
        self.key = key
        let state = self.state
        server = HTTPServer(endpoint: endpoint, limits: HTTPServerLimits()) { request, respond in
            guard let handler = state.value.withLock({ $0.handlers.last?.handler }) else {
                return respond(HTTPResponse(status: 503, headers: [("Content-Type", "text/plain")], body: Array("no exporter\n".utf8)))
            }
            handler(request, respond)
        }
    }

    /// The listener for exporter `exporter` on `endpoint`, with `handler` answering its
    /// scrapes, and the id to detach with.
    static func attach(_ endpoint: Endpoint, exporter: String, handler: @escaping HTTPHandler) -> (PrometheusListener, UInt64) {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        guard endpoint.port != 0 else {
            let own = PrometheusListener(endpoint: endpoint, key: nil)
            own.state.value.withLock { $0.handlers.append((id, handler)) }
            return (own, id)
        }
        let key = Key(endpoint: endpoint, exporter: exporter)
        // Found and joined under the registry's lock, so a concurrent last `detach` cannot close
        // it in between.
        let listener = registry.withLock { r -> PrometheusListener in
            if let known = r[key] {
                let joined = known.state.value.withLock { s -> Bool in
                    guard !s.closed else { return false }
                    s.handlers.append((id, handler))
                    return true
                }
                if joined { return known }
            }
            let made = PrometheusListener(endpoint: endpoint, key: key)
            made.state.value.withLock { $0.handlers.append((id, handler)) }
            r[key] = made
            return made
        }
        return (listener, id)
    }

    /// Binds the server unless it already listens.
    func start() throws {
        try state.value.withLock { s in
            guard !s.started else { return }
            try server.start()
            s.started = true
        }
    }

    /// Takes the handler `id` off; the last one off closes the listener and stops the server.
    /// A second call with the same id does nothing.
    func detach(_ id: UInt64) {
        let last = Self.registry.withLock { r in
            state.value.withLock { s in
                guard let index = s.handlers.firstIndex(where: { $0.id == id }) else { return false }
                s.handlers.remove(at: index)
                guard s.handlers.isEmpty else { return false }
                s.closed = true
                if let key, r[key] === self { r[key] = nil }
                return true
            }
        }
        if last { server.shutdown(deadline: .now() + 1) {} }
    }
}
