import Glibc
import OpenSSLSupport

/// One open connection (a non-blocking socket and, for https, its TLS session), used by one
/// request at a time. All waits poll the socket together with the optional cancellation
/// token, against a monotonic deadline in milliseconds (nil: no deadline).
struct ClientConnection: Sendable {
    let fd: Int32
    let session: TLSStream?

    /// Resolves `endpoint`, connects to the first address that accepts and, for https,
    /// completes the handshake, all before `deadline`.
    static func open(_ endpoint: HTTPEndpoint, tls: TLSClientContext?, deadline: Int64,
                     cancellation: HTTPCancellation?) -> Result<ClientConnection, HTTPClientError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard status == 0, list != nil else {
            let reason = status == 0 ? "no address" : String(cString: gai_strerror(status))
            return .failure(HTTPClientError(.resolve, "cannot resolve \(endpoint.host): \(reason)"))
        }
        defer { freeaddrinfo(list) }
        func cannotConnect(_ kind: HTTPClientError.Kind, _ reason: String) -> HTTPClientError {
            HTTPClientError(kind, "cannot connect to \(endpoint.authority): \(reason)", reason: reason)
        }
        var lastError = cannotConnect(.connect, "no usable address")
        var next = list
        while let info = next?.pointee {
            next = info.ai_next
            let fd = socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
            guard fd >= 0 else {
                lastError = cannotConnect(.connect, describe(errno))
                continue
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            // Head and body may go out in two writes: without this, Nagle + delayed ACK can
            // hold the body back for tens of milliseconds.
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            var connected = Glibc.connect(fd, info.ai_addr, info.ai_addrlen) == 0
            if !connected && errno == EINPROGRESS {
                if let failure = wait(fd, Int16(POLLOUT), deadline: deadline, cancellation: cancellation) {
                    Glibc.close(fd)
                    if failure.kind == .cancelled { return .failure(failure) }
                    lastError = cannotConnect(failure.kind, failure.message)
                    continue
                }
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                connected = error == 0
                if !connected { lastError = cannotConnect(.connect, describe(error)) }
            } else if !connected {
                lastError = cannotConnect(.connect, describe(errno))
            }
            guard connected else { Glibc.close(fd); continue }
            guard let tls else { return .success(ClientConnection(fd: fd, session: nil)) }
            switch tls.connect(fd: fd, wait: { wait(fd, $0, deadline: deadline, cancellation: cancellation) }) {
            case .success(let session): return .success(ClientConnection(fd: fd, session: session))
            case .failure(var error):
                Glibc.close(fd)
                error.message = "\(endpoint.authority): \(error.message)"
                return .failure(error)
            }
        }
        return .failure(lastError)
    }

    func close() {
        session?.shutdown()   // close_notify while the descriptor is still ours
        Glibc.close(fd)
    }

    func send(_ bytes: [UInt8], deadline: Int64?, cancellation: HTTPCancellation?) -> HTTPClientError? {
        var offset = 0
        while offset < bytes.count {
            if let session {
                let step = bytes.withUnsafeBytes { session.write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
                switch step {
                case .done(let n): offset += n
                case .wantRead, .wantWrite:
                    let events = Int16(step == .wantRead ? POLLIN : POLLOUT)
                    if let failure = Self.wait(fd, events, deadline: deadline, cancellation: cancellation) { return failure }
                case .closed: return HTTPClientError(.closed, "TLS write: connection closed")
                case .failed(let why): return HTTPClientError(.closed, "TLS write: \(why)")
                }
                continue
            }
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n >= 0 {
                offset += n
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                if let failure = Self.wait(fd, Int16(POLLOUT), deadline: deadline, cancellation: cancellation) { return failure }
            } else if errno != EINTR {
                return HTTPClientError(.closed, "send: \(Self.describe(errno))")
            }
        }
        return nil
    }

    enum Read {
        case bytes(Int)
        case end
        case failed(HTTPClientError)
    }

    /// Reads what is available into `buffer`, waiting for it until `deadline`.
    func read(into buffer: UnsafeMutableRawBufferPointer, deadline: Int64?, cancellation: HTTPCancellation?) -> Read {
        while true {
            if let session {
                let step = session.read(buffer)
                switch step {
                case .done(let n): return .bytes(n)
                case .wantRead, .wantWrite:
                    let events = Int16(step == .wantRead ? POLLIN : POLLOUT)
                    if let failure = Self.wait(fd, events, deadline: deadline, cancellation: cancellation) { return .failed(failure) }
                case .closed: return .end
                case .failed(let why): return .failed(HTTPClientError(.closed, "TLS read: \(why)"))
                }
                continue
            }
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n > 0 { return .bytes(n) }
            if n == 0 { return .end }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                if let failure = Self.wait(fd, Int16(POLLIN), deadline: deadline, cancellation: cancellation) { return .failed(failure) }
            } else if errno != EINTR {
                return .failed(HTTPClientError(.closed, "recv: \(Self.describe(errno))"))
            }
        }
    }

    /// True when the idle connection is still usable: not closed by the server and nothing
    /// unasked (such as a 408) waiting on it, which a next request would take for its answer.
    var isQuiet: Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) == 0 && session?.hasBufferedInput != true
    }

    /// Polls `fd` for `events` (and the cancellation token) until `deadline`.
    static func wait(_ fd: Int32, _ events: Int16, deadline: Int64?, cancellation: HTTPCancellation?) -> HTTPClientError? {
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let left = deadline - HTTPClient.nowMillis()
                guard left > 0 else { return HTTPClientError(.timeout, "timed out") }
                timeout = Int32(min(left, Int64(Int32.max)))
            }
            var fds = [pollfd(fd: fd, events: events, revents: 0)]
            if let cancellation { fds.append(pollfd(fd: cancellation.fd, events: Int16(POLLIN), revents: 0)) }
            let n = poll(&fds, nfds_t(fds.count), timeout)
            if n > 0 {
                if fds.count > 1 && fds[1].revents != 0 { return HTTPClientError(.cancelled, "cancelled") }
                return nil
            }
            if n < 0 && errno != EINTR { return HTTPClientError(.closed, "poll: \(describe(errno))") }
        }
    }

    static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }
}
