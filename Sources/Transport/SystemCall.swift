#if canImport(Glibc)
import Glibc
#endif

/// The one place where the transport talks to the kernel.
///
/// Every call retries `EINTR` and turns any other failure into a ``TransportError`` that names
/// the call. Calls on non-blocking descriptors return `nil` for `EAGAIN`/`EWOULDBLOCK` instead
/// of throwing, because "try again later" is the normal outcome on the hot path.
/// All functions are thread-safe (they only touch the descriptors they are given).
enum Sys {
    /// Runs `body` until it does not fail with `EINTR`. A result of -1 throws, naming `call`.
    @discardableResult
    static func call<R: BinaryInteger>(_ call: String, _ body: () -> R) throws -> R {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = errno
            if code == EINTR { continue }
            throw TransportError.systemCall(call, errno: code)
        }
    }

    /// Like ``call(_:_:)`` but returns `nil` when the descriptor is not ready (`EAGAIN`).
    static func nonBlocking<R: BinaryInteger>(_ call: String, _ body: () -> R) throws -> R? {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return nil }
            throw TransportError.systemCall(call, errno: code)
        }
    }

    /// Reads into `buffer`. Returns the byte count (0 at end of stream) or `nil` if nothing is
    /// available yet.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws -> Int? {
        try nonBlocking("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Sends bytes without raising `SIGPIPE`. Returns the count sent, or `nil` if the socket's
    /// send buffer is full. `more` hints that further data follows immediately (`MSG_MORE`).
    static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, more: Bool) throws -> Int? {
        let flags = Int32(MSG_NOSIGNAL) | (more ? Int32(MSG_MORE) : 0)
        return try nonBlocking("send") { Glibc.send(fd, bytes.baseAddress, bytes.count, flags) }
    }

    /// Accepts one connection as a non-blocking, close-on-exec descriptor, filling `address`.
    /// (Glibc's Swift overlay does not expose `accept4`, so the flags are set with `fcntl`.)
    static func accept(_ fd: Int32, address: UnsafeMutablePointer<sockaddr_storage>) throws -> Int32? {
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let client = try address.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            try nonBlocking("accept") { Glibc.accept(fd, raw, &length) }
        }
        guard let client else { return nil }
        do {
            let flags = try call("fcntl(F_GETFL)") { fcntl(client, F_GETFL) }
            try call("fcntl(F_SETFL)") { fcntl(client, F_SETFL, flags | O_NONBLOCK) }
            try call("fcntl(F_SETFD)") { fcntl(client, F_SETFD, FD_CLOEXEC) }
        } catch {
            close(client)
            throw error
        }
        return client
    }

    /// Creates a non-blocking, close-on-exec stream socket.
    static func socket(family: Int32) throws -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
        return try call("socket") { Glibc.socket(family, type, 0) }
    }

    /// Sets an integer socket option.
    static func setOption(_ fd: Int32, level: Int32, name: Int32, value: Int32, label: String) throws {
        var value = value
        try call("setsockopt(\(label))") {
            setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// Half-closes the sending side; errors (e.g. the peer already reset) are ignored because
    /// the connection is being torn down anyway.
    static func shutdownWrite(_ fd: Int32) {
        _ = try? call("shutdown") { Glibc.shutdown(fd, Int32(SHUT_WR)) }
    }

    /// Closes a descriptor exactly once. Deliberately *not* retried on `EINTR`: on Linux the
    /// descriptor is released even when `close` is interrupted, and retrying could close a
    /// descriptor number that another thread has just been given. Errors are ignored for the
    /// same reason (there is nothing left to do with the descriptor).
    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }
}
