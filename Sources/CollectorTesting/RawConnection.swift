import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `connect(2)`; a free function so nothing in the type shadows it.
private func posixConnectRaw(_ fd: Int32, _ addr: UnsafePointer<sockaddr>, _ len: socklen_t) -> Int32 {
    connect(fd, addr, len)
}

/// A plain TCP connection to 127.0.0.1 that a test holds open, idle or with bytes of its
/// choosing (a partial request, a preface), to see what a server does with connected clients.
/// Closed on `close()` or when the object goes away.
public final class RawConnection: @unchecked Sendable {
    private let lock = NSLock()
    private var fd: Int32

    /// Connects to 127.0.0.1:`port` (IPv4).
    public init(port: Int) throws {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw TestSetupError("socket() failed: errno \(errno)") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                posixConnectRaw(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw TestSetupError("connect to 127.0.0.1:\(port) failed: errno \(e)")
        }
        self.fd = fd
    }

    /// Writes all of `bytes`.
    public func send(_ bytes: Data) throws {
        let fd = lock.withLock { self.fd }
        guard fd >= 0 else { throw TestSetupError("connection closed") }
        try bytes.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buf.count {
                let n = Glibc.send(fd, buf.baseAddress! + offset, buf.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw TestSetupError("send failed: errno \(errno)")
                }
                offset += n
            }
        }
    }

    /// True once the peer has closed the connection (a non-blocking peek sees EOF or an error).
    public var peerClosed: Bool {
        let fd = lock.withLock { self.fd }
        guard fd >= 0 else { return true }
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if n == 0 { return true }
        if n < 0 { return !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) }
        return false
    }

    public func close() {
        let fd = lock.withLock { () -> Int32 in
            let old = self.fd
            self.fd = -1
            return old
        }
        if fd >= 0 { Glibc.close(fd) }
    }

    deinit { close() }
}
