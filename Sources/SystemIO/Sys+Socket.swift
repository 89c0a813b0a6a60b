import Glibc

/// The socket calls of the transport (its listeners and connections), with the same rules as
/// the file calls: `EINTR` retried, other failures thrown as ``SystemError``, and `nil` where
/// a non-blocking socket is not ready.
extension Sys {
    /// Sends bytes without raising `SIGPIPE`. Returns the count sent, or `nil` if the socket's
    /// send buffer is full. `more` hints that further data follows immediately (`MSG_MORE`).
    public static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, more: Bool) throws(SystemError) -> Int? {
        let flags = Int32(MSG_NOSIGNAL) | (more ? Int32(MSG_MORE) : 0)
        return try nonBlocking("send") { Glibc.send(fd, bytes.baseAddress, bytes.count, flags) }
    }

    /// Accepts one connection as a non-blocking, close-on-exec descriptor, filling `address`;
    /// `nil` when none is pending. (Glibc's Swift overlay does not expose `accept4`, so the
    /// flags are set with `fcntl`.)
    public static func accept(_ fd: Int32, address: UnsafeMutablePointer<sockaddr_storage>) throws(SystemError) -> Int32? {
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let client = try address.withMemoryRebound(to: sockaddr.self, capacity: 1) { (raw) throws(SystemError) in
            try nonBlocking("accept") { Glibc.accept(fd, raw, &length) }
        }
        guard let client else { return nil }
        do throws(SystemError) {
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
    public static func socket(family: Int32) throws(SystemError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
        return try call("socket") { Glibc.socket(family, type, 0) }
    }

    /// Sets an integer socket option; `label` names it in errors (`setsockopt(SO_REUSEADDR)`).
    public static func setOption(_ fd: Int32, level: Int32, name: Int32, value: Int32, label: String) throws(SystemError) {
        var value = value
        try call("setsockopt(\(label))") {
            setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// Half-closes the sending side; errors (e.g. the peer already reset) are ignored because
    /// the connection is being torn down anyway.
    public static func shutdownWrite(_ fd: Int32) {
        _ = try? call("shutdown") { Glibc.shutdown(fd, Int32(SHUT_WR)) }
    }
}
