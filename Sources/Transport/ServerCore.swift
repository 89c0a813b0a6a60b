import Dispatch
import Synchronization
import SystemIO

/// The machinery shared by ``HTTPServer`` and ``GRPCServer``: one listener, the set of live
/// connections, and the lifecycle (start, stop accepting, graceful shutdown with a deadline).
///
/// Threading: all methods are thread-safe; state is behind one `Mutex`, and completions are
/// called outside it. Connections run on serial queues that target ``ioQueue``, a concurrent
/// queue shared by every server in the process; socket readiness comes from the ``Reactor``.
final class ServerCore: Sendable {
    /// The concurrent queue all listeners and connections target.
    static let ioQueue = DispatchQueue(label: "transport.io", qos: .userInitiated, attributes: .concurrent)

    private enum Phase {
        case idle
        case running
        case draining
        case stopped
    }

    private struct State {
        var phase: Phase = .idle
        var listener: Listener?
        var connections: [UInt64: Connection] = [:]
        var nextID: UInt64 = 0
        var boundPort: Int?
        var completions: [@Sendable () -> Void] = []
        /// Applies the connections' timeouts once a second while running.
        var sweeper: (any DispatchSourceTimer)?
        /// New connections speak TLS with this context's current certificates (nil: plain TCP).
        var tls: TLSServerContext?
    }

    private enum ShutdownAction {
        case completeNow
        case wait
        case drain(Listener?, [Connection])
    }

    let endpoint: Endpoint
    let router: any RequestRouter
    /// Bounds the bytes of unfinished requests (shared with the process's other servers).
    let budget: RequestBudget
    private let state = Mutex(State())

    init(endpoint: Endpoint, router: any RequestRouter, budget: RequestBudget, tls: TLSServerContext?) {
        self.endpoint = endpoint
        self.router = router
        self.budget = budget
        state.withLock { $0.tls = tls }
    }

    /// TLS for connections accepted from now on (nil: plain TCP); open connections keep theirs.
    var tls: TLSServerContext? {
        get { state.withLock { $0.tls } }
        set { state.withLock { $0.tls = newValue } }
    }

    /// Binds and begins accepting; returns as soon as the socket listens.
    func start() throws {
        let listener: Listener = try state.withLock { state in
            switch state.phase {
            case .idle: break
            case .running, .draining:
                throw TransportError.invalidState("listen \(endpoint): server already started")
            case .stopped:
                throw TransportError.invalidState("listen \(endpoint): server was shut down")
            }
            let listener = try Listener(endpoint: endpoint, target: Self.ioQueue)
            state.listener = listener
            state.boundPort = listener.boundPort
            state.phase = .running
            let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
            timer.schedule(deadline: .now() + 1, repeating: 1, leeway: .milliseconds(200))
            timer.setEventHandler { [weak self] in self?.sweep(now: DispatchTime.now().uptimeNanoseconds) }
            timer.resume()
            state.sweeper = timer
            return listener
        }
        // Outside the lock: accepting takes it.
        do {
            try listener.start { [weak self] fd, remote in
                guard let self else {
                    Sys.close(fd)
                    return
                }
                self.accepted(fd: fd, remoteAddress: remote)
            }
        } catch {
            state.withLock { state in
                state.listener = nil
                state.phase = .stopped
                state.sweeper?.cancel()
                state.sweeper = nil
            }
            throw error
        }
    }

    var boundPort: Int? { state.withLock { $0.boundPort } }

    var connectionCount: Int { state.withLock { $0.connections.count } }

    /// Applies the idle and request-read timeouts to every connection at `now` (monotonic ns;
    /// the timer passes the real time, tests a later one).
    func sweep(now: UInt64) {
        let connections = state.withLock { Array($0.connections.values) }
        for connection in connections { connection.checkTimeouts(now: now) }
    }

    /// Each open connection's activity (tests).
    var activities: [SessionActivity] { state.withLock { Array($0.connections.values) }.map(\.currentActivity) }

    /// Each open connection's count of idle-memory trims (tests).
    var trims: [Int] { state.withLock { Array($0.connections.values) }.map(\.currentTrims) }

    /// Closes the listening socket; connections keep being served. Idempotent.
    func stopAccepting() {
        let listener = state.withLock { state in
            let listener = state.listener
            state.listener = nil
            return listener
        }
        listener?.stop()
    }

    /// Stops accepting, lets connections finish what is in flight until `deadline`, then
    /// closes the rest; `completion` runs once every connection is closed. Idempotent (every
    /// caller's completion runs once), and safe before `start`.
    func shutdown(deadline: DispatchTime, completion: @escaping @Sendable () -> Void) {
        let action: ShutdownAction = state.withLock { state in
            switch state.phase {
            case .idle, .stopped:
                state.phase = .stopped
                return .completeNow
            case .draining:
                state.completions.append(completion)
                return .wait
            case .running:
                state.phase = .draining
                state.completions.append(completion)
                let listener = state.listener
                state.listener = nil
                return .drain(listener, Array(state.connections.values))
            }
        }
        switch action {
        case .completeNow:
            completion()
        case .wait:
            break
        case .drain(let listener, let connections):
            listener?.stop()
            for connection in connections { connection.beginShutdown() }
            // Strong captures here and in the connection-closed callback: a server being shut
            // down must live until its last connection closed and its completions ran, even when
            // its owner already dropped it. The cycle ends when the last connection is removed.
            DispatchQueue.global().asyncAfter(deadline: deadline) { self.forceCloseAll() }
            runCompletionsIfDrained()
        }
    }

    // MARK: - Internals

    private func accepted(fd: Int32, remoteAddress: String) {
        // Over the process-wide bound (descriptors kept for everything else): closed at once.
        guard ConnectionBudget.take() else {
            Sys.close(fd)
            return
        }
        let connection: Connection? = state.withLock { state in
            guard state.phase == .running else { return nil }
            let id = state.nextID
            state.nextID += 1
            let connection = Connection(id: id, fd: fd, remoteAddress: remoteAddress, router: router, budget: budget,
                                        tls: state.tls, target: Self.ioQueue) { id in self.connectionClosed(id) }
            state.connections[id] = connection
            return connection
        }
        guard let connection else {
            ConnectionBudget.release()
            Sys.close(fd)
            return
        }
        connection.start()
    }

    private func connectionClosed(_ id: UInt64) {
        let removed = state.withLock { $0.connections.removeValue(forKey: id) }
        if removed != nil { ConnectionBudget.release() }
        runCompletionsIfDrained()
    }

    private func forceCloseAll() {
        let connections = state.withLock { Array($0.connections.values) }
        for connection in connections { connection.forceClose() }
    }

    private func runCompletionsIfDrained() {
        let completions: [@Sendable () -> Void] = state.withLock { state in
            guard state.phase == .draining, state.connections.isEmpty else { return [] }
            state.phase = .stopped
            state.sweeper?.cancel()
            state.sweeper = nil
            defer { state.completions = [] }
            return state.completions
        }
        for completion in completions { completion() }
    }
}
