#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Free TCP ports on 127.0.0.1, found by binding port 0 and reading what the kernel chose.
///
/// The port is closed again before it is returned, so another process could take it in
/// between; on a test machine that is rare enough.
public enum FreePort {
    /// One free port.
    public static func allocate() throws -> Int {
        try allocate(count: 1)[0]
    }

    /// `count` distinct free ports (all are held open until every one is known).
    public static func allocate(count: Int) throws -> [Int] {
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        var ports: [Int] = []
        for _ in 0..<count {
            let (fd, port) = try bindEphemeral()
            fds.append(fd)
            ports.append(port)
        }
        return ports
    }

    /// A socket listening on 127.0.0.1:`port`, to make the port busy; the caller closes it.
    public static func occupy(_ port: Int) throws -> Int32 {
        let fd = try bound(port)
        guard listen(fd, 8) == 0 else {
            let e = errno
            close(fd)
            throw TestSetupError("listen(127.0.0.1:\(port)) failed: errno \(e)")
        }
        return fd
    }

    private static func bindEphemeral() throws -> (Int32, Int) {
        let fd = try bound(0)
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        var out = sockaddr_in()
        var len = size
        let named = withUnsafeMutablePointer(to: &out) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard named == 0 else {
            let e = errno
            close(fd)
            throw TestSetupError("getsockname failed: errno \(e)")
        }
        return (fd, Int(UInt16(bigEndian: out.sin_port)))
    }

    /// A TCP socket bound to 127.0.0.1:`port` (0: any free one).
    private static func bound(_ port: Int) throws -> Int32 {
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
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) }
        }
        guard result == 0 else {
            let e = errno
            close(fd)
            throw TestSetupError("bind(127.0.0.1:\(port)) failed: errno \(e)")
        }
        return fd
    }
}
