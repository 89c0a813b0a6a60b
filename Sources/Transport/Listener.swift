import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A bound, listening, non-blocking TCP socket that accepts connections on a Dispatch read
/// source.
///
/// Lifecycle: `init` binds and listens (so bind errors surface synchronously), ``start(_:)``
/// begins accepting, ``stop()`` cancels the source and closes the socket; both are idempotent.
/// Threading: ``start(_:)`` and ``stop()`` may be called from any thread; the accept callback
/// runs on the listener's own serial queue.
final class Listener: Sendable {
    /// The port actually bound (meaningful when the endpoint asked for port 0).
    let boundPort: Int
    private let fd: Int32
    private let queue: DispatchQueue
    /// Signalled once the listening socket is closed.
    private let closed = DispatchSemaphore(value: 0)
    private static let queueKey = DispatchSpecificKey<ObjectIdentifier>()
    /// The accept source (nil before `start` and after `stop`) and whether `stop` ran.
    private let state = Mutex<(source: SourceBox?, stopped: Bool)>((nil, false))

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
            do { fd = try Sys.socket(family: candidate.family) } catch let error as TransportError {
                lastError = error.errno ?? lastError
                continue
            }
            do {
                try Sys.setOption(fd, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1, label: "SO_REUSEADDR")
                var storage = candidate.storage
                _ = try withUnsafePointer(to: &storage) { pointer in
                    try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                        try Sys.call("bind") { bind(fd, raw, candidate.length) }
                    }
                }
                try Sys.call("listen") { Glibc.listen(fd, backlog) }
                self.boundPort = try SocketAddress.boundPort(of: fd)
                self.fd = fd
                self.queue = DispatchQueue(label: "transport.listener.\(endpoint)", target: target)
                queue.setSpecific(key: Self.queueKey, value: ObjectIdentifier(self))
                return
            } catch let error as TransportError {
                lastError = error.errno ?? lastError
                Sys.close(fd)
            }
        }
        throw TransportError.listen(endpoint, errno: lastError)
    }

    /// Begins accepting. `onAccept` receives each new non-blocking descriptor and the peer's
    /// address text; it owns the descriptor from then on. Calls after ``stop()`` do nothing.
    func start(_ onAccept: @escaping @Sendable (Int32, String) -> Void) {
        state.withLock { state in
            guard !state.stopped, state.source == nil else { return }
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
            let fd = self.fd
            source.setEventHandler { [weak self] in self?.acceptReady(onAccept) }
            let closed = self.closed
            source.setCancelHandler {
                Sys.close(fd)
                closed.signal()
            }
            state.source = SourceBox(source)
            source.activate()
        }
    }

    /// Stops accepting and closes the listening socket. Established connections are not
    /// affected. Idempotent.
    func stop() {
        let toCancel: SourceBox? = state.withLock { state in
            if state.stopped { return nil }
            state.stopped = true
            let current = state.source
            state.source = nil
            if current == nil { Sys.close(fd) }
            return current
        }
        guard let box = toCancel else { return }
        box.source.cancel()
        // Wait (briefly) for the cancel handler to close the socket, so that when `stop`
        // returns new connections are refused and the port can be bound again. (Calling
        // `shutdown` on the socket instead would raise EPOLLHUP on a descriptor libdispatch
        // is still watching, a path that is fragile in libdispatch's epoll backend.) Never
        // wait on the listener's own queue: the handler could not run.
        if DispatchQueue.getSpecific(key: Self.queueKey) != ObjectIdentifier(self) {
            _ = closed.wait(timeout: .now() + 2)
        }
    }

    /// Accepts what is pending, bounded per event so one busy listener cannot starve others.
    private func acceptReady(_ onAccept: @Sendable (Int32, String) -> Void) {
        var address = sockaddr_storage()
        for _ in 0..<64 {
            do {
                guard let client = try Sys.accept(fd, address: &address) else { return }
                try? Sys.setOption(client, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1, label: "TCP_NODELAY")
                onAccept(client, SocketAddress.describe(address))
            } catch let error as TransportError {
                if error.errno == EMFILE || error.errno == ENFILE || error.errno == ENOBUFS || error.errno == ENOMEM {
                    // Out of descriptors: back off briefly instead of spinning on a ready socket.
                    pauseAccepting(for: .milliseconds(100))
                }
                // ECONNABORTED and friends concern one client only; try again on the next event.
                return
            } catch {
                return
            }
        }
    }

    private func pauseAccepting(for interval: DispatchTimeInterval) {
        guard let box = state.withLock({ $0.source }) else { return }
        box.source.suspend()
        queue.asyncAfter(deadline: .now() + interval) { box.source.resume() }
    }
}

/// Holds a Dispatch source so it can be stored in a `Mutex` and passed between threads.
// @unchecked Sendable: Dispatch sources are thread-safe objects (cancel/suspend/resume may be
// called from any thread); the box itself is immutable.
final class SourceBox: @unchecked Sendable {
    let source: any DispatchSourceRead
    init(_ source: any DispatchSourceRead) { self.source = source }
}
