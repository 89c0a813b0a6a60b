/// A TCP endpoint to listen on: a host (name or IP literal) and a port.
///
/// Parsed from the forms used in collector configs: `0.0.0.0:4317`, `localhost:0`,
/// `[::1]:4317`, and `:4317` (all IPv4 interfaces, host `0.0.0.0`). Port 0 asks the kernel
/// for an ephemeral port; a started server reports the port it actually bound.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    /// Host name or IP literal, without brackets (`::1`, not `[::1]`).
    public var host: String
    /// TCP port, 0...65535 (0 = ephemeral).
    public var port: Int

    /// Creates an endpoint from its parts. `port` must be in 0...65535.
    public init(host: String, port: Int) {
        precondition((0...65535).contains(port), "port out of range: \(port)")
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[ipv6]:port` or `:port`.
    /// - Throws: ``TransportError`` with code `.invalidEndpoint` naming the text and the problem.
    public init(parsing text: String) throws {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw TransportError.invalidEndpoint(text, "missing ']'")
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw TransportError.invalidEndpoint(text, "missing port") }
            portPart = rest.dropFirst()
            if hostPart.isEmpty { throw TransportError.invalidEndpoint(text, "empty host") }
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw TransportError.invalidEndpoint(text, "missing port")
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") {
                throw TransportError.invalidEndpoint(text, "IPv6 addresses must be written in brackets")
            }
        }
        guard !portPart.isEmpty, portPart.utf8.count <= 5, portPart.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let port = Int(portPart), port <= 65535
        else {
            throw TransportError.invalidEndpoint(text, "port must be a number from 0 to 65535")
        }
        if hostPart.contains(where: { $0 == " " || $0 == "/" || $0 == "[" || $0 == "]" }) {
            throw TransportError.invalidEndpoint(text, "invalid host")
        }
        self.init(host: hostPart.isEmpty ? "0.0.0.0" : String(hostPart), port: port)
    }

    /// `host:port`, with brackets around IPv6 literals: `[::1]:4317`.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The same host with another port (used to report the port actually bound).
    public func withPort(_ port: Int) -> Endpoint { Endpoint(host: host, port: port) }
}
