import Dispatch
import OpenSSLSupport
import Synchronization

/// An HTTP/2 client for one endpoint (h2c with prior knowledge, or TLS with ALPN "h2"): many
/// concurrent requests as streams of one connection, on the shared ``Reactor`` (no thread of
/// its own, no blocking call on the caller's thread).
///
/// Design:
/// - All state lives on one serial queue. ``send(_:deadline:completion:)`` enqueues a request;
///   requests wait in order until the current connection has room under the server's
///   SETTINGS_MAX_CONCURRENT_STREAMS, then become streams (see ``HTTP2ClientConnection``).
/// - Connections open on demand: the first request, or the first one after the current
///   connection closed or received GOAWAY. A connection that fails before the server's SETTINGS
///   fails the requests waiting for it (retryable, not processed); there is no automatic retry
///   or backoff here: that is the caller's (the exporter helper's) business.
/// - A stream refused with REFUSED_STREAM on a healthy connection is sent again (a few times,
///   see ``HTTP2ClientConnection``): it was not processed, as gRPC's transparent retry assumes.
/// - GOAWAY: the connection takes nothing new; its streams up to the last stream id finish
///   there; those above fail as ``HTTP2ClientError/Kind/refused`` (not processed, safe to send
///   again); the next request opens a new connection.
/// - Deadlines: a request whose deadline passes fails with
///   ``HTTP2ClientError/Kind/deadlineExceeded``; if it was already a stream, the stream is reset
///   with CANCEL.
/// - Shutdown: requests still waiting fail (``HTTP2ClientError/Kind/shutdown``); open streams
///   may finish until the deadline; each connection says GOAWAY and closes; the completion runs
///   once everything is closed. Idempotent; later requests fail at once.
///
/// Completions run on the client's queue and must not block. Thread-safe.
// @unchecked Sendable: the mutable properties are touched only on `queue` (public methods
// enqueue work there; timers capture `self` weakly and run there); `stats` is a Mutex.
public final class HTTP2Client: HTTP2ConnectionOwner, @unchecked Sendable {
    public typealias Completion = @Sendable (Result<HTTPResponse, HTTP2ClientError>) -> Void

    public let configuration: HTTP2ClientConfiguration
    private let queue = DispatchQueue(label: "transport.http2client")
    private let tls: ClientSocket.TLSSetup?
    private let stats = Mutex<(opened: Int, open: Int)>((0, 0))

    // Queue-confined.
    private var current: HTTP2ClientConnection?
    private var draining: [UInt64: HTTP2ClientConnection] = [:]
    private var waiting: [HTTP2Exchange] = []
    private var nextConnectionID: UInt64 = 1
    private var dispatching = false
    private var dispatchAgain = false
    private var shuttingDown = false
    private var shutdownCompletions: [@Sendable () -> Void] = []
    private var shutdownDone = false

    /// Checks the configuration and loads the TLS material (CA, client certificate) now.
    /// - Throws: ``HTTP2ClientError`` of kind `invalidConfiguration`, naming the problem
    ///   (`tls.ca_file /path: ...`).
    public init(configuration: HTTP2ClientConfiguration) throws(HTTP2ClientError) {
        let problems = configuration.validate()
        guard problems.isEmpty else {
            throw HTTP2ClientError(.invalidConfiguration, problems.joined(separator: "; "))
        }
        self.configuration = configuration
        if let settings = configuration.tls, !settings.insecure {
            do {
                let context = try SSLContext.client(settings, alpn: ["h2"])
                tls = ClientSocket.TLSSetup(context: context, serverName: settings.serverNameOverride ?? configuration.host,
                                            verify: !settings.insecureSkipVerify)
            } catch {
                throw HTTP2ClientError(.invalidConfiguration, error.description)
            }
        } else {
            tls = nil
        }
    }

    deinit {
        // Nothing else refers to the client, so nothing else touches its state: hand what is
        // left to the queue to be failed and closed there.
        let connections = [current].compactMap { $0 } + Array(draining.values)
        let waiting = waiting
        queue.async {
            for exchange in waiting {
                exchange.finish(.failure(HTTP2ClientError(.shutdown, "the HTTP/2 client was released", notProcessed: true)))
            }
            for connection in connections {
                connection.close(HTTP2ClientError(.shutdown, "the HTTP/2 client was released"))
            }
        }
    }

    // MARK: - Requests

    /// Sends `request`; `completion` gets the whole response or why there is none. A `deadline`
    /// bounds waiting, connecting, sending and receiving.
    public func send(_ request: HTTP2ClientRequest, deadline: DispatchTime? = nil, completion: @escaping Completion) {
        let exchange = HTTP2Exchange(request: request, completion: completion)
        queue.async { [self] in enqueue(exchange, deadline: deadline) }
    }

    /// Async form of ``send(_:deadline:completion:)``, with a timeout from now.
    public func send(_ request: HTTP2ClientRequest, timeoutNanos: UInt64? = nil) async throws(HTTP2ClientError) -> HTTPResponse {
        let deadline = timeoutNanos.map { DispatchTime.now() + .nanoseconds(Int(clamping: $0)) }
        let result = await withCheckedContinuation { continuation in
            send(request, deadline: deadline) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Connections opened so far (each GOAWAY or close followed by a request opens one more).
    public var connectionsOpened: Int { stats.withLock { $0.opened } }

    /// Connections open or opening now.
    public var openConnections: Int { stats.withLock { $0.open } }

    // MARK: - Shutdown

    /// Clean shutdown (see the type's notes); `completion` runs once every connection is closed.
    public func shutdown(deadline: DispatchTime, completion: @escaping @Sendable () -> Void = {}) {
        queue.async { [self] in
            guard !shutdownDone else {
                completion()
                return
            }
            shutdownCompletions.append(completion)
            guard !shuttingDown else { return }
            shuttingDown = true
            let stopped = waiting
            waiting = []
            for exchange in stopped {
                exchange.finish(.failure(HTTP2ClientError(.shutdown, "the HTTP/2 client is shutting down", notProcessed: true)))
            }
            for connection in allConnections { connection.beginShutdown() }
            queue.asyncAfter(deadline: deadline) { [weak self] in
                guard let self else { return }
                for connection in allConnections {
                    connection.close(HTTP2ClientError(.shutdown, "the HTTP/2 client's shutdown deadline passed"))
                }
            }
            finishShutdownIfClosed()
        }
    }

    /// Async form of ``shutdown(deadline:completion:)``.
    public func shutdown(deadline: DispatchTime) async {
        await withCheckedContinuation { continuation in
            shutdown(deadline: deadline) { continuation.resume() }
        }
    }

    // MARK: - Internals (on the queue)

    private var allConnections: [HTTP2ClientConnection] {
        [current].compactMap { $0 } + Array(draining.values)
    }

    private func enqueue(_ exchange: HTTP2Exchange, deadline: DispatchTime?) {
        guard !shuttingDown else {
            exchange.finish(.failure(HTTP2ClientError(.shutdown, "the HTTP/2 client is shut down", notProcessed: true)))
            return
        }
        if let deadline {
            let timer = DispatchWorkItem { [weak self] in self?.deadlinePassed(exchange) }
            exchange.timer = timer
            queue.asyncAfter(deadline: deadline, execute: timer)
        }
        waiting.append(exchange)
        dispatchWaiting()
    }

    private func deadlinePassed(_ exchange: HTTP2Exchange) {
        let message = "deadline exceeded for \(exchange.request.path) on \(configuration.authorityValue)"
        switch exchange.state {
        case .waiting:
            waiting.removeAll { $0 === exchange }
            exchange.finish(.failure(HTTP2ClientError(.deadlineExceeded, message, notProcessed: true)))
        case .submitted:
            let connection = exchange.connection
            exchange.finish(.failure(HTTP2ClientError(.deadlineExceeded, message, notProcessed: !exchange.headersSent)))
            connection?.cancel(exchange)
        case .finished:
            break
        }
    }

    /// Moves waiting requests onto the current connection while it has room, opening a
    /// connection when there is none. Re-entrant calls (from the connection's notifications)
    /// just ask the running loop for another round.
    private func dispatchWaiting() {
        guard !dispatching else {
            dispatchAgain = true
            return
        }
        dispatching = true
        defer { dispatching = false }
        repeat {
            dispatchAgain = false
            guard !waiting.isEmpty, !shuttingDown else { return }
            guard let connection = current else {
                openConnection()
                continue
            }
            guard connection.phase == .ready else { continue }  // connecting: ready comes later
            var changed = false
            while !waiting.isEmpty && connection.hasRoom {
                let exchange = waiting.removeFirst()
                changed = true
                guard connection.submit(exchange) else {
                    waiting.insert(exchange, at: 0)
                    break
                }
            }
            if changed { connection.pump() }
        } while dispatchAgain
    }

    private func openConnection() {
        let id = nextConnectionID
        nextConnectionID += 1
        guard let connection = HTTP2ClientConnection(id: id, queue: queue, configuration: configuration, tls: tls) else {
            failWaiting(HTTP2ClientError(.connect, "cannot create an HTTP/2 session (out of memory)", notProcessed: true))
            return
        }
        connection.owner = self
        current = connection
        stats.withLock {
            $0.opened += 1
            $0.open += 1
        }
        connection.start()
    }

    private func failWaiting(_ error: HTTP2ClientError) {
        let failed = waiting
        waiting = []
        for exchange in failed { exchange.finish(.failure(error)) }
    }

    private func finishShutdownIfClosed() {
        guard shuttingDown, !shutdownDone, current == nil, draining.isEmpty else { return }
        shutdownDone = true
        let completions = shutdownCompletions
        shutdownCompletions = []
        for completion in completions { completion() }
    }

    // MARK: - HTTP2ConnectionOwner

    func connectionReady(_ connection: HTTP2ClientConnection) {
        if connection === current { dispatchWaiting() }
    }

    func connectionHasRoom(_ connection: HTTP2ClientConnection) {
        if connection === current { dispatchWaiting() }
    }

    func connectionGoingAway(_ connection: HTTP2ClientConnection) {
        guard connection === current else { return }
        current = nil
        draining[connection.id] = connection
        dispatchWaiting()
    }

    func connectionRefused(_ connection: HTTP2ClientConnection, _ exchange: HTTP2Exchange) {
        exchange.requeued()
        guard !shuttingDown else {
            exchange.finish(.failure(HTTP2ClientError(.shutdown, "the HTTP/2 client is shutting down", notProcessed: true)))
            return
        }
        waiting.insert(exchange, at: 0)  // dispatched when the connection reports room
    }

    func connectionClosed(_ connection: HTTP2ClientConnection, _ error: HTTP2ClientError) {
        if connection === current {
            current = nil
        } else if draining.removeValue(forKey: connection.id) == nil {
            return
        }
        stats.withLock { $0.open -= 1 }
        if !connection.wasReady {
            var failure = error
            failure.notProcessed = true
            failWaiting(failure)  // a connect failure is reported, not retried in a loop
        }
        dispatchWaiting()
        finishShutdownIfClosed()
    }
}
