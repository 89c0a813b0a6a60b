/// Where a set of backends is (the `loadbalancing` exporter's gateways, the `query` extension's
/// peers): resolvers turn configuration (a static list, a DNS name such as a headless Service,
/// a Kubernetes Service's EndpointSlices) into endpoint strings `host:port`, sorted, without
/// duplicates, so that two agents that see the same backends build the same ring.
///
/// Contract: `resolve()` may block (DNS, the Kubernetes API) and is called from one thread at
/// a time by its owner, who decides how often (`interval`); a failure keeps the owner's last
/// good answer (a DNS server that hiccups must not empty a ring).
public protocol Resolver: Sendable {
    /// The endpoints now, or why they could not be found.
    func resolve() -> Result<[String], ResolverError>
    /// What the resolver is, for logs and the `resolver` metric label (`static`, `dns`, `k8s`).
    var kind: String { get }
}

public struct ResolverError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Endpoints written in the config (`static.hostnames`): as given, with `defaultPort` added to
/// those without a port, sorted and deduplicated.
public struct StaticResolver: Resolver {
    public let endpoints: [String]
    public var kind: String { "static" }

    public init(_ hostnames: [String], defaultPort: Int) {
        endpoints = Array(Set(hostnames.map { Self.withPort($0, defaultPort) })).sorted()
    }

    public func resolve() -> Result<[String], ResolverError> { .success(endpoints) }

    /// `host` or `host:port`, `[v6]` or `[v6]:port`; the port added when missing.
    public static func withPort(_ host: String, _ port: Int) -> String {
        if host.hasPrefix("[") { return host.contains("]:") ? host : "\(host):\(port)" }
        if host.filter({ $0 == ":" }).count > 1 { return "[\(host)]:\(port)" }  // a bare IPv6 address
        return host.contains(":") ? host : "\(host):\(port)"
    }
}
