import Glibc

/// A tiny blocking HTTP/1.1 client: one `GET` per connection (`Connection: close`), over a
/// POSIX socket, with a deadline covering resolve, connect, send and receive. No TLS, no
/// redirects, no proxies: the query API is a plain HTTP server.
///
/// Failures to resolve, connect or get an answer in time are `.unreachable`; a connection that
/// breaks mid-answer or an answer that does not parse is `.server`.
struct HTTPClient {
    var server: ServerAddress
    var timeout: Duration = .seconds(15)

    func get(_ path: String, accept: String) throws(CLIError) -> HTTPClientResponse {
        let deadline = Self.monotonicMillis() + Int64(timeout.components.seconds * 1000)
        let fd = try connect(deadline: deadline)
        defer { close(fd) }
        let request = "GET \(server.basePath)\(path) HTTP/1.1\r\nHost: \(server.authority)\r\nAccept: \(accept)\r\n"
            + "User-Agent: collectorctl\r\nConnection: close\r\n\r\n"
        try send(fd, Array(request.utf8), deadline: deadline)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if let response = try HTTPResponseParser.parse(received, atEnd: false) { return response }
            try wait(fd, for: Int16(POLLIN), deadline: deadline, doing: "waiting for the answer")
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received.append(contentsOf: buffer[0..<n])
            } else if n == 0 {
                guard let response = try HTTPResponseParser.parse(received, atEnd: true) else {
                    throw CLIError(.server, "\(server) closed the connection before answering")
                }
                return response
            } else if errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK {
                throw CLIError(.server, "reading from \(server): \(Self.describe(errno))")
            }
        }
    }

    /// Resolves the host and connects to the first address that accepts.
    private func connect(deadline: Int64) throws(CLIError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(server.host, String(server.port), &hints, &list)
        guard status == 0, let first = list else {
            let reason = status == 0 ? "no address" : String(cString: gai_strerror(status))
            throw CLIError(.unreachable, "cannot reach \(server): cannot resolve \(server.host): \(reason)")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no usable address"
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let info = next?.pointee {
            next = info.ai_next
            let fd = socket(info.ai_family, info.ai_socktype, info.ai_protocol)
            guard fd >= 0 else { lastError = Self.describe(errno); continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if Glibc.connect(fd, info.ai_addr, info.ai_addrlen) == 0 { return fd }
            if errno == EINPROGRESS {
                do throws(CLIError) {
                    try wait(fd, for: Int16(POLLOUT), deadline: deadline, doing: "connecting")
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    if error == 0 { return fd }
                    lastError = Self.describe(error)
                } catch {
                    close(fd)
                    throw error
                }
            } else {
                lastError = Self.describe(errno)
            }
            close(fd)
        }
        throw CLIError(.unreachable, "cannot reach \(server): \(lastError)")
    }

    private func send(_ fd: Int32, _ bytes: [UInt8], deadline: Int64) throws(CLIError) {
        var offset = 0
        while offset < bytes.count {
            try wait(fd, for: Int16(POLLOUT), deadline: deadline, doing: "sending the request")
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n >= 0 {
                offset += n
            } else if errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK {
                throw CLIError(.server, "sending to \(server): \(Self.describe(errno))")
            }
        }
    }

    /// Polls until `fd` is ready for `events`, or throws `.unreachable` at the deadline.
    private func wait(_ fd: Int32, for events: Int16, deadline: Int64, doing what: String) throws(CLIError) {
        while true {
            let left = deadline - Self.monotonicMillis()
            guard left > 0 else {
                throw CLIError(.unreachable, "cannot reach \(server): timed out \(what) after \(timeout.components.seconds)s")
            }
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let n = poll(&pfd, 1, Int32(min(left, Int64(Int32.max))))
            if n > 0 { return }
            if n < 0 && errno != EINTR { throw CLIError(.server, "poll: \(Self.describe(errno))") }
        }
    }

    static func monotonicMillis() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    static func describe(_ code: Int32) -> String {
        String(cString: strerror(code)).lowercased()
    }
}
