import Glibc
import Synchronization

/// A tiny blocking HTTP/1.1 client for pushes over POSIX sockets, with TLS for `https://` (see
/// `LokiTLSContext`), and one deadline covering resolve, connect, handshake, send and receive.
/// No redirects or proxies. Any failure to get a complete answer is `nil` status with a reason
/// (the retry policy treats it as retryable).
///
/// Keep-alive: after a complete answer framed by Content-Length (or chunks, or a 204) without
/// `Connection: close`, the connection (and its TLS session) is kept in `pool` for the next
/// push, for up to 20 s idle; a push on a kept connection that gets no answer byte at all (the
/// server closed it meanwhile) is sent again once on a fresh connection. Safe from any thread;
/// the exporter uses it from one thread at a time.
struct LokiHTTPClient: Sendable {
    struct Response: Sendable {
        /// nil when no complete answer arrived (connection refused, reset, timed out).
        var status: Int?
        var headers: [(String, String)] = []
        var body: [UInt8] = []
        /// Why there is no status.
        var failure: String?

        func header(_ name: String) -> String? {
            headers.first(where: { $0.0.lowercased() == name.lowercased() })?.1
        }
    }

    var endpoint: LokiEndpoint
    var timeoutNanos: UInt64
    var tls: LokiTLSContext?

    /// Where a connection waits between pushes.
    let pool = LokiConnectionPool()

    func post(body: [UInt8], headers: [(String, String)]) -> Response {
        let deadline = Self.nowMillis() + Int64(timeoutNanos / 1_000_000)
        var head = "POST \(endpoint.path) HTTP/1.1\r\nHost: \(endpoint.authority)\r\nUser-Agent: collectord\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        let headBytes = Array(head.utf8)
        while true {
            let reused: Bool
            let connection: LokiConnection
            if let idle = pool.take(now: Self.nowMillis()) {
                connection = idle
                reused = true
            } else {
                switch open(deadline: deadline) {
                case .success(let c): connection = c
                case .failure(let reason): return Response(failure: reason.description)
                }
                reused = false
            }
            let outcome = exchange(connection, headBytes, body, deadline: deadline)
            if outcome.keepAlive {
                pool.put(connection, now: Self.nowMillis())
            } else {
                connection.close()
            }
            // A kept connection the server had closed: no byte of an answer came. Once more,
            // on a fresh connection (at worst Loki got the push and gets it again).
            if reused, outcome.response.status == nil, !outcome.answered, Self.nowMillis() < deadline { continue }
            return outcome.response
        }
    }

    /// Closes the kept connection (shutdown).
    func closeIdle() { pool.drain() }

    private struct Outcome {
        var response: Response
        /// Some bytes of an answer arrived.
        var answered = false
        var keepAlive = false
    }

    private func open(deadline: Int64) -> Result<LokiConnection, ConnectFailure> {
        let fd: Int32
        switch connect(deadline: deadline) {
        case .success(let s): fd = s
        case .failure(let reason): return .failure(ConnectFailure(reason))
        }
        guard let tls else { return .success(LokiConnection(fd: fd, session: nil)) }
        switch tls.connect(fd: fd, deadline: deadline, wait: { wait($0, Int32($1), deadline: $2) }) {
        case .success(let session): return .success(LokiConnection(fd: fd, session: session))
        case .failure(let error):
            Glibc.close(fd)
            return .failure(ConnectFailure("\(endpoint.authority): \(error)"))
        }
    }

    private struct ConnectFailure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    private func exchange(_ c: LokiConnection, _ head: [UInt8], _ body: [UInt8], deadline: Int64) -> Outcome {
        let fd = c.fd, session = c.session
        if let failure = send(fd, session, head, deadline: deadline) { return Outcome(response: Response(failure: failure)) }
        if let failure = send(fd, session, body, deadline: deadline) { return Outcome(response: Response(failure: failure)) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            if let parsed = LokiHTTPResponseParser.parse(received, atEnd: false) {
                // Framed by length: the connection can carry the next push, unless the server
                // says otherwise or sent more than the answer.
                let close = parsed.header("Connection")?.lowercased().contains("close") == true
                return Outcome(response: parsed, answered: true,
                               keepAlive: parsed.status != nil && !close && LokiHTTPResponseParser.length(received) == received.count)
            }
            let n: Int
            if let session {
                switch buffer.withUnsafeMutableBytes({ session.read($0) }) {
                case .done(let count): n = count
                case .wait(let events):
                    if let failure = wait(fd, Int32(events), deadline: deadline) {
                        return Outcome(response: Response(failure: failure), answered: !received.isEmpty)
                    }
                    continue
                case .closed: n = 0
                case .failed(let why): return Outcome(response: Response(failure: "TLS read: \(why)"), answered: !received.isEmpty)
                }
            } else {
                if let failure = wait(fd, POLLIN, deadline: deadline) {
                    return Outcome(response: Response(failure: failure), answered: !received.isEmpty)
                }
                n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            }
            if n > 0 {
                received.append(contentsOf: buffer[0..<n])
            } else if n == 0 {
                let response = LokiHTTPResponseParser.parse(received, atEnd: true)
                    ?? Response(failure: "connection closed before a complete answer")
                return Outcome(response: response, answered: !received.isEmpty)
            } else if errno != EINTR && errno != EAGAIN {
                return Outcome(response: Response(failure: "recv: \(Self.describe(errno))"), answered: !received.isEmpty)
            }
        }
    }

    private enum Connected { case success(Int32), failure(String) }

    private func connect(deadline: Int64) -> Connected {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard status == 0, list != nil else {
            return .failure("cannot resolve \(endpoint.host): \(status == 0 ? "no address" : String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no usable address"
        var next = list
        while let info = next?.pointee {
            next = info.ai_next
            let fd = socket(info.ai_family, info.ai_socktype, info.ai_protocol)
            guard fd >= 0 else { lastError = Self.describe(errno); continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            // Head and body go out in two writes: without this, Nagle + delayed ACK can hold
            // the body back for tens of milliseconds.
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, info.ai_addr, info.ai_addrlen) == 0 { return .success(fd) }
            if errno == EINPROGRESS {
                if let failure = wait(fd, POLLOUT, deadline: deadline) {
                    lastError = failure
                } else {
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    if error == 0 { return .success(fd) }
                    lastError = Self.describe(error)
                }
            } else {
                lastError = Self.describe(errno)
            }
            close(fd)
        }
        return .failure("cannot connect to \(endpoint.authority): \(lastError)")
    }

    private func send(_ fd: Int32, _ session: LokiTLSSession?, _ bytes: [UInt8], deadline: Int64) -> String? {
        var offset = 0
        while offset < bytes.count {
            if let session {
                switch bytes.withUnsafeBytes({ session.write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }) {
                case .done(let n): offset += n
                case .wait(let events):
                    if let failure = wait(fd, Int32(events), deadline: deadline) { return failure }
                case .closed: return "TLS write: connection closed"
                case .failed(let why): return "TLS write: \(why)"
                }
                continue
            }
            if let failure = wait(fd, POLLOUT, deadline: deadline) { return failure }
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n >= 0 {
                offset += n
            } else if errno != EINTR && errno != EAGAIN {
                return "send: \(Self.describe(errno))"
            }
        }
        return nil
    }

    private func wait(_ fd: Int32, _ events: Int32, deadline: Int64) -> String? {
        while true {
            let left = deadline - Self.nowMillis()
            guard left > 0 else { return "timed out after \(timeoutNanos / 1_000_000)ms" }
            var pfd = pollfd(fd: fd, events: Int16(events), revents: 0)
            let n = poll(&pfd, 1, Int32(min(left, Int64(Int32.max))))
            if n > 0 { return nil }
            if n < 0 && errno != EINTR { return "poll: \(Self.describe(errno))" }
        }
    }

    static func nowMillis() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// One open connection to Loki (and its TLS session), owned by one push at a time.
struct LokiConnection: Sendable {
    let fd: Int32
    let session: LokiTLSSession?

    func close() {
        session?.shutdown()   // close_notify while the descriptor is still ours
        Glibc.close(fd)
    }
}

/// The connection kept between pushes (at most one: the exporter pushes one at a time).
final class LokiConnectionPool: Sendable {
    private struct Slot {
        var kept: (connection: LokiConnection, since: Int64)?
        /// After `drain` (shutdown), connections given back are closed at once.
        var closed = false
    }
    private let slot = Mutex(Slot())
    /// How long a connection may wait for the next push (servers close idle ones after a while).
    static let maxIdleMillis: Int64 = 20_000

    /// The kept connection, unless it went stale: idle too long, or readable while idle (the
    /// server closed it, or sent something unasked, such as a 408, which the next push would
    /// otherwise take for its own answer).
    func take(now: Int64) -> LokiConnection? {
        guard let kept = slot.withLock({ s -> (connection: LokiConnection, since: Int64)? in
            defer { s.kept = nil }
            return s.kept
        }) else { return nil }
        var p = pollfd(fd: kept.connection.fd, events: Int16(POLLIN), revents: 0)
        if now - kept.since > Self.maxIdleMillis || poll(&p, 1, 0) != 0 {
            kept.connection.close()
            return nil
        }
        return kept.connection
    }

    func put(_ connection: LokiConnection, now: Int64) {
        let (previous, closed) = slot.withLock { s -> (LokiConnection?, Bool) in
            if s.closed { return (nil, true) }
            defer { s.kept = (connection, now) }
            return (s.kept?.connection, false)
        }
        previous?.close()
        if closed { connection.close() }
    }

    /// Closes the kept connection; later ones are closed when given back.
    func drain() {
        slot.withLock { s -> LokiConnection? in
            s.closed = true
            defer { s.kept = nil }
            return s.kept?.connection
        }?.close()
    }

    deinit { drain() }
}
