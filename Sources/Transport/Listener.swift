import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import SystemIO

/// A bound, listening, non-blocking TCP socket that accepts connections when the ``Reactor``
/// reports it readable.
///
/// Lifecycle: `init` binds and listens (so bind errors surface synchronously), ``start(_:)``
/// begins accepting, ``stop()`` stops and closes the socket before returning (new connections
/// are refused and the port can be bound again); both are idempotent.
/// Threading: `start` and `stop` may be called from any thread except the accept callback;
/// accepting runs on the listener's own serial queue, where `start` and `stop` also do their
/// work, so the socket is never closed under a running `accept`.
// @unchecked Sendable: the mutable state (`token`, `stopped`, `onAccept`) is touched only on
// `queue`; `fd`, `boundPort` and `queue` are immutable.
final class Listener: @unchecked Sendable {
    /// The port actually bound (meaningful when the endpoint asked for port 0).
    let boundPort: Int
    private let fd: Int32
    private let queue: DispatchQueue
    private var reactor: Reactor?
    private var token: UInt64 = 0
    private var stopped = false
    private var onAccept: (@Sendable (Int32, String) -> Void)?

    /// Binds `endpoint` (with `SO_REUSEADDR`) and starts listening.
    /// - Throws: ``TransportError`` like `listen 0.0.0.0:4317: Address already in use`.
    init(endpoint: Endpoint, backlog: Int32 = 1024, target: DispatchQueue) throws {
        let candidates = try SocketAddress.resolve(endpoint)
        guard !candidates.isEmpty else {
            throw TransportError(code: .resolve, description: "listen \(endpoint): no usable address")
        }
        var lastError: Int32 = EADDRNOTAVAIL
        for candidate in candidates {
            let fd: Int32
            do throws(SystemError) { fd = try Sys.socket(family: candidate.family) } catch {
                lastError = error.errno
                continue
            }
            do {
                try TransportError.io { () throws(SystemError) in
                    try Sys.setOption(fd, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1, label: "SO_REUSEADDR")
                    var storage = candidate.storage
                    _ = try withUnsafePointer(to: &storage) { (pointer) throws(SystemError) in
                        try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (raw) throws(SystemError) in
                            try Sys.call("bind") { bind(fd, raw, candidate.length) }
                        }
                    }
                    try Sys.call("listen") { Glibc.listen(fd, backlog) }
                }
                self.boundPort = try SocketAddress.boundPort(of: fd)
                self.fd = fd
                self.queue = DispatchQueue(label: "transport.listener.\(endpoint)", target: target)
                return
            } catch let error as TransportError {
                lastError = error.errno ?? lastError
                Sys.close(fd)
            }
        }
        throw TransportError.listen(endpoint, errno: lastError)
    }

    /// Begins accepting. `onAccept` receives each new non-blocking descriptor and the peer's
    /// address text, on the listener's queue; it owns the descriptor from then on.
    /// - Throws: if the reactor cannot watch the socket (the socket is then closed).
    func start(_ onAccept: @escaping @Sendable (Int32, String) -> Void) throws {
        try queue.sync {
            guard !stopped, token == 0 else { return }
            do {
                let reactor = try Reactor.shared.get()
                token = try reactor.register(fd, queue: queue) { [weak self] _ in self?.acceptReady() }
                self.reactor = reactor
                self.onAccept = onAccept
                try reactor.arm(fd, token: token, read: true, write: false)
            } catch {
                closeNow()
                throw error
            }
        }
    }

    /// Stops accepting and closes the listening socket. Established connections are not
    /// affected. Idempotent.
    func stop() {
        queue.sync { closeNow() }
    }

    private func closeNow() {
        guard !stopped else { return }
        stopped = true
        if let reactor, token != 0 { reactor.deregister(fd, token: token) }
        reactor = nil
        onAccept = nil
        Sys.close(fd)
    }

    /// Accepts what is pending (bounded per event so one busy listener cannot starve
    /// others), then re-arms.
    private func acceptReady() {
        guard !stopped, let onAccept else { return }
        var address = sockaddr_storage()
        var backOff = false
        accepting: for _ in 0..<64 {
            do {
                guard let client = try Sys.accept(fd, address: &address) else { break accepting }
                try? Sys.setOption(client, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1, label: "TCP_NODELAY")
                onAccept(client, SocketAddress.describe(address))
            } catch {
                // Out of descriptors: back off briefly instead of spinning on a ready socket.
                // Other errors (ECONNABORTED, ...) concern one client only.
                backOff = error.isOutOfDescriptors || [ENOBUFS, ENOMEM].contains(error.errno)
                break accepting
            }
        }
        if backOff {
            queue.asyncAfter(deadline: .now() + .milliseconds(100)) { [weak self] in self?.rearm() }
        } else {
            rearm()
        }
    }

    private func rearm() {
        guard !stopped, let reactor else { return }
        do { try reactor.arm(fd, token: token, read: true, write: false) } catch { closeNow() }
    }
}
