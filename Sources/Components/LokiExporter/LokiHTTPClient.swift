import Glibc

/// A tiny blocking HTTP/1.1 client for pushes: one `POST` per connection (`Connection:
/// close`) over a POSIX socket, with TLS for `https://` (see `LokiTLSContext`), and one
/// deadline covering resolve, connect, handshake, send and receive. No redirects or proxies.
/// Any failure to get a complete answer is `nil` status with a reason (the retry policy treats
/// it as retryable). Stateless; safe from any thread.
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

    func post(body: [UInt8], headers: [(String, String)]) -> Response {
        let deadline = Self.nowMillis() + Int64(timeoutNanos / 1_000_000)
        let fd: Int32
        switch connect(deadline: deadline) {
        case .success(let s): fd = s
        case .failure(let reason): return Response(failure: reason)
        }
        defer { close(fd) }
        var session: LokiTLSSession?
        if let tls {
            switch tls.connect(fd: fd, deadline: deadline, wait: { wait($0, Int32($1), deadline: $2) }) {
            case .success(let s): session = s
            case .failure(let error): return Response(failure: "\(endpoint.authority): \(error)")
            }
        }
        var head = "POST \(endpoint.path) HTTP/1.1\r\nHost: \(endpoint.authority)\r\nUser-Agent: collectord\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        if let failure = send(fd, session, Array(head.utf8), deadline: deadline) { return Response(failure: failure) }
        if let failure = send(fd, session, body, deadline: deadline) { return Response(failure: failure) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            if let parsed = LokiHTTPResponseParser.parse(received, atEnd: false) { return parsed }
            let n: Int
            if let session {
                switch buffer.withUnsafeMutableBytes({ session.read($0) }) {
                case .done(let count): n = count
                case .wait(let events):
                    if let failure = wait(fd, Int32(events), deadline: deadline) { return Response(failure: failure) }
                    continue
                case .closed: n = 0
                case .failed(let why): return Response(failure: "TLS read: \(why)")
                }
            } else {
                if let failure = wait(fd, POLLIN, deadline: deadline) { return Response(failure: failure) }
                n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            }
            if n > 0 {
                received.append(contentsOf: buffer[0..<n])
            } else if n == 0 {
                return LokiHTTPResponseParser.parse(received, atEnd: true)
                    ?? Response(failure: "connection closed before a complete answer")
            } else if errno != EINTR && errno != EAGAIN {
                return Response(failure: "recv: \(Self.describe(errno))")
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
