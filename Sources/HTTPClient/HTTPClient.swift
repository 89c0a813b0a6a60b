import Glibc
import Synchronization

/// A request: `path` (with its query) is relative to the endpoint's path.
public struct HTTPRequest: Sendable {
    public var method: String
    public var path: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String = "GET", path: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }
}

/// A complete answer.
public struct HTTPResponse: Sendable {
    public var head: HTTPResponseHead
    public var body: [UInt8]

    public var status: Int { head.status }
    public func header(_ name: String) -> String? { head.header(name) }
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// The one HTTP/1.1 client of the collector (the Loki exporter's pushes, `collectorctl`'s
/// queries, the Kubernetes API's lists and watches): blocking calls on the caller's thread over
/// non-blocking POSIX sockets, TLS through OpenSSL (`TLSClientSettings`), no redirects, no
/// proxies.
///
/// Design:
/// - `send` has one deadline (`timeoutNanos`) for connect, handshake, send and the whole
///   answer, which is read into memory up to `maxBodyBytes`. `stream` has the same deadline
///   up to the answer's head, then hands the body out piece by piece as it arrives, each read
///   with its own idle deadline (a watch may be quiet for minutes, never dead for long).
/// - Keep-alive: a connection whose answer was complete and framed (length or chunks, HTTP/1.1,
///   no `Connection: close`, nothing extra sent) goes back to an idle pool of at most
///   `maxIdleConnections`, for up to `maxIdleMillis`. A connection is checked before reuse:
///   if the server closed it or sent something unasked meanwhile it is dropped. A request on a
///   reused connection that got no byte of an answer is sent once more on a fresh connection
///   (the server closed it as we wrote).
/// - Cancellation: every wait also polls an optional `HTTPCancellation`, so shutdown ends a
///   blocked watch at once.
/// - Errors are `HTTPClientError` values (resolve, connect, tls, timeout, closed, malformed,
///   too large, cancelled) with a message naming the peer; HTTP statuses are answers, not
///   errors: the caller decides what a 410 or a 503 means.
///
/// Safe from any number of threads; each call uses its own connection.
public final class HTTPClient: Sendable {
    public let endpoint: HTTPEndpoint
    public let timeoutNanos: UInt64
    public let maxBodyBytes: Int
    let userAgent: String
    let tls: TLSClientContext?
    let pool: IdlePool

    /// `tls` applies to https endpoints (nil: verify against the system's trust store).
    public init(endpoint: HTTPEndpoint, tls: TLSClientSettings? = nil, timeoutNanos: UInt64 = 30_000_000_000,
                userAgent: String = "collectord", maxIdleConnections: Int = 4, maxIdleMillis: Int64 = 20_000,
                maxBodyBytes: Int = 256 << 20) throws(TLSClientContext.Failure) {
        self.endpoint = endpoint
        self.timeoutNanos = timeoutNanos
        self.userAgent = userAgent
        self.maxBodyBytes = maxBodyBytes
        self.tls = endpoint.tls ? try TLSClientContext(settings: tls ?? TLSClientSettings(), host: endpoint.host) : nil
        pool = IdlePool(capacity: maxIdleConnections, maxIdleMillis: maxIdleMillis)
    }

    /// Sends `request` and reads the whole answer.
    public func send(_ request: HTTPRequest, cancellation: HTTPCancellation? = nil) -> Result<HTTPResponse, HTTPClientError> {
        let deadline = Self.nowMillis() + Int64(timeoutNanos / 1_000_000)
        var body: [UInt8] = []
        var tooLarge = false
        let limit = maxBodyBytes
        let result = exchange(request, deadline: deadline, readDeadline: { deadline }, cancellation: cancellation,
                              head: { _ in true },
                              body: { piece in
                                  if body.count + piece.count > limit { tooLarge = true; return false }
                                  body.append(contentsOf: piece)
                                  return true
                              })
        if tooLarge { return .failure(HTTPClientError(.tooLarge, "\(endpoint.authority): answer body over \(limit) bytes", answered: true)) }
        return result.map { HTTPResponse(head: $0, body: body) }
    }

    /// Sends `request` and streams the answer: `head` is called once with the head (return
    /// false to stop there), then `body` with each piece of body as it arrives (return false to
    /// stop). Each read waits at most `readTimeoutNanos` (nil: until cancelled). Returns the
    /// head once the answer ended (or the caller stopped it).
    public func stream(_ request: HTTPRequest, readTimeoutNanos: UInt64?, cancellation: HTTPCancellation? = nil,
                       head: (HTTPResponseHead) -> Bool,
                       body: (ArraySlice<UInt8>) -> Bool) -> Result<HTTPResponseHead, HTTPClientError> {
        let deadline = Self.nowMillis() + Int64(timeoutNanos / 1_000_000)
        let readDeadline: () -> Int64? = {
            readTimeoutNanos.map { Self.nowMillis() + Int64($0 / 1_000_000) }
        }
        return exchange(request, deadline: deadline, readDeadline: readDeadline, cancellation: cancellation,
                        head: head, body: body, reuse: false)
    }

    /// Closes the idle connections (shutdown); later ones are closed when given back.
    public func closeIdle() { pool.drain() }

    private func exchange(_ request: HTTPRequest, deadline: Int64, readDeadline: () -> Int64?,
                          cancellation: HTTPCancellation?,
                          head: (HTTPResponseHead) -> Bool, body: (ArraySlice<UInt8>) -> Bool,
                          reuse: Bool = true) -> Result<HTTPResponseHead, HTTPClientError> {
        let bytes = encode(request)
        while true {
            let reused: Bool
            let connection: ClientConnection
            if reuse, let idle = pool.take(now: Self.nowMillis()) {
                connection = idle
                reused = true
            } else {
                switch ClientConnection.open(endpoint, tls: tls, deadline: deadline, cancellation: cancellation) {
                case .success(let c): connection = c
                case .failure(let error): return .failure(error)
                }
                reused = false
            }
            var reader = ResponseReader(bodiless: request.method == "HEAD")
            let outcome = converse(connection, bytes, &reader, deadline: deadline, readDeadline: readDeadline,
                                   cancellation: cancellation, head: head, body: body)
            if case .success = outcome, reader.keepsConnection {
                pool.put(connection, now: Self.nowMillis())
            } else {
                connection.close()
            }
            if case .failure(let error) = outcome, reused, !error.answered, error.kind != .cancelled,
               Self.nowMillis() < deadline {
                continue
            }
            return outcome
        }
    }

    private func converse(_ c: ClientConnection, _ request: [UInt8], _ reader: inout ResponseReader,
                          deadline: Int64, readDeadline: () -> Int64?, cancellation: HTTPCancellation?,
                          head: (HTTPResponseHead) -> Bool,
                          body: (ArraySlice<UInt8>) -> Bool) -> Result<HTTPResponseHead, HTTPClientError> {
        if let failure = c.send(request, deadline: deadline, cancellation: cancellation) {
            return .failure(named(failure))
        }
        var buffer = [UInt8](repeating: 0, count: 32 * 1024)
        var headSeen = false
        var stopped = false
        let sink: (ArraySlice<UInt8>) -> Void = { piece in
            if !stopped && !body(piece) { stopped = true }
        }
        let onHead: (HTTPResponseHead) -> Void = { h in
            headSeen = true
            if !head(h) { stopped = true }
        }
        while true {
            let wait = headSeen ? readDeadline() : deadline
            let read = buffer.withUnsafeMutableBytes { c.read(into: $0, deadline: wait, cancellation: cancellation) }
            do throws(HTTPClientError) {
                switch read {
                case .bytes(let n):
                    _ = try reader.feed(buffer[0..<n], head: onHead, body: sink)
                case .end:
                    // Completes an answer framed by the end, else throws.
                    try reader.finish(body: sink)
                case .failed(var error):
                    error.answered = error.answered || reader.head != nil || reader.leftover > 0
                    if error.kind == .timeout {
                        error.reason = headSeen ? "no data for too long while reading the answer"
                            : "timed out after \(timeoutNanos / 1_000_000)ms waiting for the answer"
                        error.message = error.reason
                    }
                    return .failure(named(error))
                }
            } catch {
                return .failure(named(error))
            }
            if stopped || reader.isComplete, let h = reader.head { return .success(h) }
        }
    }

    private func named(_ error: HTTPClientError) -> HTTPClientError {
        var e = error
        if !e.message.contains(endpoint.authority) { e.message = "\(endpoint.authority): \(e.message)" }
        return e
    }

    private func encode(_ request: HTTPRequest) -> [UInt8] {
        var head = "\(request.method) \(endpoint.path)\(request.path) HTTP/1.1\r\nHost: \(endpoint.authority)\r\n"
        var hasAgent = false
        for (name, value) in request.headers {
            if name.lowercased() == "user-agent" { hasAgent = true }
            head += "\(name): \(value)\r\n"
        }
        if !hasAgent { head += "User-Agent: \(userAgent)\r\n" }
        if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
            head += "Content-Length: \(request.body.count)\r\n"
        }
        head += "\r\n"
        var bytes = Array(head.utf8)
        bytes.append(contentsOf: request.body)
        return bytes
    }

    public static func nowMillis() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}

/// Idle kept-alive connections, newest first, each handed to exactly one taker.
final class IdlePool: Sendable {
    private struct State {
        var idle: [(connection: ClientConnection, since: Int64)] = []
        /// After `drain` (shutdown), connections given back are closed at once.
        var closed = false
    }
    private let state = Mutex(State())
    let capacity: Int
    let maxIdleMillis: Int64

    init(capacity: Int, maxIdleMillis: Int64) {
        self.capacity = capacity
        self.maxIdleMillis = maxIdleMillis
    }

    /// A kept connection that is still fresh and quiet; stale ones are closed on the way.
    func take(now: Int64) -> ClientConnection? {
        while let kept = state.withLock({ $0.idle.popLast() }) {
            if now - kept.since <= maxIdleMillis && kept.connection.isQuiet { return kept.connection }
            kept.connection.close()
        }
        return nil
    }

    func put(_ connection: ClientConnection, now: Int64) {
        let evicted = state.withLock { s -> [ClientConnection] in
            if s.closed || capacity == 0 { return [connection] }
            s.idle.append((connection, now))
            guard s.idle.count > capacity else { return [] }
            return [s.idle.removeFirst().connection]
        }
        for c in evicted { c.close() }
    }

    func drain() {
        let all = state.withLock { s -> [ClientConnection] in
            s.closed = true
            defer { s.idle.removeAll() }
            return s.idle.map(\.connection)
        }
        for c in all { c.close() }
    }

    deinit { drain() }
}
