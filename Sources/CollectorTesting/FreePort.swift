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

    private static func bindEphemeral() throws -> (Int32, Int) {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw TestSetupError("socket() failed: errno \(errno)") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) }
        }
        guard bound == 0 else {
            let e = errno
            close(fd)
            throw TestSetupError("bind(127.0.0.1:0) failed: errno \(e)")
        }
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
}
