#if canImport(Glibc)
import Glibc
#endif

/// A DNS name's A and AAAA records (`dns.hostname`, e.g. a Kubernetes headless Service):
/// `10.0.0.7` and `[fd00::7]`, or with `port` when one is configured (`10.0.0.7:4317`), as
/// upstream's dns resolver writes them, sorted. An answer with no address is an error (the
/// owner keeps its last good set).
public struct DNSResolver: Resolver {
    public let hostname: String
    public let port: Int?
    public var kind: String { "dns" }

    public init(hostname: String, port: Int?) {
        self.hostname = hostname
        self.port = port
    }

    public func resolve() -> Result<[String], ResolverError> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(hostname, nil, &hints, &list)
        guard status == 0, let first = list else {
            return .failure(ResolverError("resolving \(hostname): \(String(cString: gai_strerror(status)))"))
        }
        defer { freeaddrinfo(list) }
        var found: Set<String> = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            if let address = Self.text(current.pointee) {
                let host = current.pointee.ai_family == AF_INET6 ? "[\(address)]" : address
                found.insert(port.map { "\(host):\($0)" } ?? host)
            }
            entry = current.pointee.ai_next
        }
        guard !found.isEmpty else { return .failure(ResolverError("resolving \(hostname): no addresses")) }
        return .success(found.sorted())
    }

    private static func text(_ info: addrinfo) -> String? {
        guard let address = info.ai_addr else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let ok: Bool
        if info.ai_family == AF_INET {
            ok = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                var raw = v4.pointee.sin_addr
                return inet_ntop(AF_INET, &raw, &buffer, socklen_t(buffer.count)) != nil
            }
        } else if info.ai_family == AF_INET6 {
            ok = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                var raw = v6.pointee.sin6_addr
                return inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count)) != nil
            }
        } else {
            ok = false
        }
        guard ok else { return nil }
        return String(cString: buffer)
    }
}
