import Dispatch
import Synchronization
import Transport

/// The HTTP server of `prometheus` exporters on one endpoint, shared by the exporters that
/// serve there.
///
/// Design: a SIGHUP reload that changes an exporter's settings builds and starts the new
/// exporter before the old one is shut down (see `Service`), and both want the same port. So a
/// server belongs to its endpoint, not to an exporter: `attach` gives an exporter the endpoint's
/// listener (made on first use), whose scrapes the most recently attached exporter answers;
/// `detach` hands them back to the one attached before, and the last to leave stops the
/// server. Port 0 (tests) is never shared: each such exporter gets a listener of its own.
final class PrometheusListener: Sendable {
    private struct Registry {
        var listeners: [String: PrometheusListener] = [:]
    }

    private static let registry = Mutex(Registry())
    private static let nextID = Atomic<UInt64>(1)

    /// Attached exporters' handlers, the one answering last; `started` once bound. A class so
    /// the server's handler can hold it.
    private final class State: Sendable {
        let value = Mutex<(handlers: [(id: UInt64, handler: HTTPHandler)], started: Bool)>(([], false))
        func withLock<R>(_ body: (inout sending (handlers: [(id: UInt64, handler: HTTPHandler)], started: Bool)) throws -> sending R) rethrows -> R {
            try value.withLock(body)
        }
    }

    let server: HTTPServer
    private let key: String?
    private let state = State()

    private init(endpoint: Endpoint, key: String?) {
        self.key = key
        let state = self.state
        server = HTTPServer(endpoint: endpoint, limits: HTTPServerLimits()) { request, respond in
            guard let handler = state.withLock({ $0.handlers.last?.handler }) else {
                return respond(HTTPResponse(status: 503, headers: [("Content-Type", "text/plain")], body: Array("no exporter\n".utf8)))
            }
            handler(request, respond)
        }
    }

    /// The listener for `endpoint` (`text` as configured) with `handler` answering its scrapes,
    /// and the id to detach with.
    static func attach(_ endpoint: Endpoint, text: String, handler: @escaping HTTPHandler) -> (PrometheusListener, UInt64) {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let listener: PrometheusListener
        if endpoint.port == 0 {
            listener = PrometheusListener(endpoint: endpoint, key: nil)
        } else {
            listener = registry.withLock { r in
                if let known = r.listeners[text] { return known }
                let made = PrometheusListener(endpoint: endpoint, key: text)
                r.listeners[text] = made
                return made
            }
        }
        listener.state.withLock { $0.handlers.append((id, handler)) }
        return (listener, id)
    }

    /// Binds the server unless it already listens.
    func start() throws {
        try state.withLock { s in
            guard !s.started else { return }
            try server.start()
            s.started = true
        }
    }

    /// Takes the handler `id` off; the last one off stops the server.
    func detach(_ id: UInt64) {
        let last = Self.registry.withLock { r in
            state.withLock { s in
                s.handlers.removeAll { $0.id == id }
                guard s.handlers.isEmpty else { return false }
                if let key, r.listeners[key] === self { r.listeners[key] = nil }
                return true
            }
        }
        if last { server.shutdown(deadline: .now() + 1) {} }
    }
}
