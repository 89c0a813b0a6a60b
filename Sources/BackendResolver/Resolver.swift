/// Where a set of backends is (the `loadbalancing` exporter's gateways, the `query` extension's
/// peers): resolvers turn configuration (a static list, a DNS name such as a headless Service,
/// a Kubernetes Service's EndpointSlices) into endpoint strings, sorted, without duplicates,
/// written as the OpenTelemetry Collector's resolvers write them (`10.0.0.1`, `10.0.0.1:4317`,
/// `[fd00::1]`), so that two agents, or an agent and a Go collector, that see the same
/// backends build the same ring. `endpointWithPort` adds the default port for connecting.
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

/// Endpoints written in the config (`static.hostnames`): as written (a port is added only when
/// connecting, never to the ring's strings, as upstream), sorted, each once.
public struct StaticResolver: Resolver {
    public let endpoints: [String]
    public var kind: String { "static" }

    public init(_ hostnames: [String]) {
        endpoints = Array(Set(hostnames)).sorted()
    }

    public func resolve() -> Result<[String], ResolverError> { .success(endpoints) }
}

/// `host:port` for connecting to an endpoint string as resolvers give it: `host` or
/// `host:port`, `[v6]` or `[v6]:port`, a bare IPv6 address; `port` added when it has none.
public func endpointWithPort(_ endpoint: String, _ port: Int) -> String {
    if endpoint.hasPrefix("[") { return endpoint.contains("]:") ? endpoint : "\(endpoint):\(port)" }
    if endpoint.filter({ $0 == ":" }).count > 1 { return "[\(endpoint)]:\(port)" }  // a bare IPv6 address
    return endpoint.contains(":") ? endpoint : "\(endpoint):\(port)"
}
