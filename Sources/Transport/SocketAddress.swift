#if canImport(Glibc)
import Glibc
#endif
import SystemIO

/// Conversions between ``Endpoint``, `sockaddr_storage` and printable addresses.
/// Pure functions; thread-safe.
enum SocketAddress {
    /// Resolves `endpoint` into socket addresses suitable for `bind` (or, not `passive`, for
    /// `connect`), IPv4 results first (so `localhost` means 127.0.0.1, as in the Go collector).
    /// - Throws: ``TransportError`` with code `.resolve` if the host cannot be resolved.
    static func resolve(_ endpoint: Endpoint, passive: Bool = true) throws -> [(family: Int32, storage: sockaddr_storage, length: socklen_t)] {
        var hints = addrinfo()
        hints.ai_flags = (passive ? AI_PASSIVE : 0) | AI_NUMERICSERV
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard rc == 0, let first = list else {
            let reason = String(cString: gai_strerror(rc))
            throw TransportError(code: .resolve, description: "\(passive ? "listen" : "connect") \(endpoint): cannot resolve host: \(reason)")
        }
        defer { freeaddrinfo(first) }
        var v4: [(Int32, sockaddr_storage, socklen_t)] = []
        var v6: [(Int32, sockaddr_storage, socklen_t)] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let current = node {
            let info = current.pointee
            if let address = info.ai_addr, Int(info.ai_addrlen) <= MemoryLayout<sockaddr_storage>.size {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { dst in
                    dst.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(info.ai_addrlen)))
                }
                if info.ai_family == AF_INET { v4.append((AF_INET, storage, info.ai_addrlen)) }
                if info.ai_family == AF_INET6 { v6.append((AF_INET6, storage, info.ai_addrlen)) }
            }
            node = info.ai_next
        }
        return (v4 + v6).map { (family: $0.0, storage: $0.1, length: $0.2) }
    }

    /// The IP text and port held in `storage` (IPv4 or IPv6), or `nil` for other families.
    static func parts(of storage: sockaddr_storage) -> (ip: String, port: Int)? {
        var storage = storage
        let family = Int32(storage.ss_family)
        return withUnsafePointer(to: &storage) { pointer -> (String, Int)? in
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            switch family {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var addr = sin.pointee.sin_addr
                    guard inet_ntop(AF_INET, &addr, &text, socklen_t(text.count)) != nil else { return nil }
                    return (cString(text), Int(UInt16(bigEndian: sin.pointee.sin_port)))
                }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    var addr = sin6.pointee.sin6_addr
                    guard inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count)) != nil else { return nil }
                    return (cString(text), Int(UInt16(bigEndian: sin6.pointee.sin6_port)))
                }
            default:
                return nil
            }
        }
    }

    /// `ip:port` or `[ipv6]:port`, or `"unknown"`.
    static func describe(_ storage: sockaddr_storage) -> String {
        guard let (ip, port) = parts(of: storage) else { return "unknown" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    /// The local port a socket is bound to.
    static func boundPort(of fd: Int32) throws -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { (pointer) throws(TransportError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (raw) throws(TransportError) in
                try TransportError.io { () throws(SystemError) in try Sys.call("getsockname") { getsockname(fd, raw, &length) } }
            }
        }
        return parts(of: storage)?.port ?? 0
    }
}
