import BackendResolver
import CollectorCore
import Store
import StoreExporter
import TLSSettings
import Transport

/// Settings of the `query` extension, with complete defaults.
///
/// ```yaml
/// extensions:
///   query:
///     endpoint: 127.0.0.1:16686   # Jaeger query's port; loopback by default
///     timeout: 10s                # per query; then the answer is partial
///     max_blocks_per_query: 20000 # blocks one query may read; then the answer is partial
///     max_concurrent_queries: 4   # more at once are answered 503 + Retry-After
///     idle_timeout: 60s           # confighttp's listener keys (read_header_timeout, read_timeout)
///     tls: {cert_file: server.crt, key_file: server.key}   # configtls's keys (optional)
///     auth: {authenticator: bearertokenauth}              # require its token (optional)
/// ```
public struct QuerySettings: ComponentSettings, Equatable {
    /// `host:port` to listen on.
    public var endpoint = "127.0.0.1:16686"
    /// A query stops reading after this long and answers with what it found (marked partial).
    public var timeoutNanos: UInt64 = 10_000_000_000
    /// A query stops after reading this many blocks (marked partial).
    public var maxBlocksPerQuery = 20_000
    /// Queries answered at once; more are refused with 503 and Retry-After.
    public var maxConcurrentQueries = 4
    /// confighttp's `idle_timeout`, `read_header_timeout`, `read_timeout`.
    public var listener = ListenerLimits()
    /// HTTPS with these certificates (nil: plain HTTP).
    public var tls: TLSServerSettings?
    /// Requests without the authenticator's token are answered 401.
    public var auth: ComponentID?
    /// Other collectors whose stores answer too (gateways behind a trace-id load balancer).
    public var peers: PeerSettings?

    public init() {}
}

/// `peers`: other collectors' query extensions that every query here also asks, so that any
/// node answers for the whole fleet. Found by a static list or a DNS name (a headless
/// Service), re-resolved at most every `interval`.
///
/// ```yaml
///     peers:
///       static: {endpoints: ["gw-0:16686", "gw-1:16686"]}
///       dns: {hostname: collectord-gateway-headless, port: 16686, interval: 30s}
///       k8s: {service: collectord-gateway.observability, ports: [16686]}   # or the EndpointSlices
///       timeout: 5s                       # each peer request
///       headers: {Authorization: "Bearer t"}
///       tls: {ca_file: ca.pem}            # https to the peers
/// ```
public struct PeerSettings: Sendable, Equatable {
    public var endpoints: [String] = []
    /// `k8s`: a Service's EndpointSlices, watched (port 16686 by default).
    public var k8s: K8sResolverSettings?
    public var dnsHostname: String?
    public var dnsPort = 16686
    public var intervalNanos: UInt64 = 30_000_000_000
    public var timeoutNanos: UInt64 = 5_000_000_000
    public var headers: [String: String] = [:]
    public var tls: TLSClientSettings?

    public init() {}
}

/// Knows the `query` extension: the Jaeger- and Tempo-compatible HTTP API over the store.
public struct QueryFactory: ExtensionFactory {
    public init() {}
    public var type: String { "query" }
    public var kind: ComponentKind { .extension }
    public var signals: Set<Signal> { [] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = QuerySettings()
        s.endpoint = reader.string("endpoint", default: s.endpoint)
        s.timeoutNanos = reader.duration("timeout", default: s.timeoutNanos)
        if s.timeoutNanos == 0 { reader.problem("timeout", "must be greater than 0") }
        s.maxBlocksPerQuery = reader.int("max_blocks_per_query", default: s.maxBlocksPerQuery, range: 1...100_000_000)
        s.maxConcurrentQueries = reader.int("max_concurrent_queries", default: s.maxConcurrentQueries, range: 1...1024)
        s.listener = reader.httpListenerLimits()
        s.tls = reader.tlsServerSettings()
        s.auth = reader.authenticator()
        if let peers = reader.section("peers") {
            var p = PeerSettings()
            if let fixed = peers.section("static") { p.endpoints = fixed.stringList("endpoints") }
            if let dns = peers.section("dns") {
                let hostname = dns.string("hostname", default: "")
                if hostname.isEmpty { dns.problem("hostname", "is required") } else { p.dnsHostname = hostname }
                p.dnsPort = dns.int("port", default: p.dnsPort, range: 1...65535)
                p.intervalNanos = dns.duration("interval", default: p.intervalNanos)
                if p.intervalNanos == 0 { dns.problem("interval", "must be greater than 0") }
            }
            if let k8s = peers.section("k8s") { p.k8s = K8sResolverSettings.read(k8s, defaultPort: 16686) }
            if p.endpoints.isEmpty && p.dnsHostname == nil && p.k8s == nil {
                peers.sink.add(peers.node, "peers need static.endpoints, dns.hostname or k8s.service")
            }
            p.timeoutNanos = peers.duration("timeout", default: p.timeoutNanos)
            if p.timeoutNanos == 0 { peers.problem("timeout", "must be greater than 0") }
            if let headers = peers.section("headers") {
                for (key, _) in headers.node.mapping ?? [] { p.headers[key] = headers.string(key, default: "") }
            }
            if peers.node["tls"] != nil { p.tls = peers.tlsClientSettings() }
            s.peers = p
        }
        do {
            _ = try Endpoint(parsing: s.endpoint)
        } catch {
            reader.problem("endpoint", "\(error)")
        }
        return s
    }
}

extension QueryFactory {
    /// The extension reads the store of the config's first `store` exporter, else ./data.
    public func makeExtension(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Extension {
        let s = try context.settings(settings, as: QuerySettings.self)
        if let id = s.auth { try AuthenticatorRegistry.validate(id, in: context.config, for: "extension \(context.id) auth") }
        let auth = s.auth.map { ListenerAuth(id: $0, registry: context.host.service(AuthenticatorRegistry.self) ?? AuthenticatorRegistry()) }
        let config = context.config.components[.exporter]?.lazy.compactMap { $0.settings as? StoreExporterSettings }.first?.store
            ?? StoreConfig(directory: "./data")
        let stores = try context.service(StoreRegistry.self)
        let store = try stores.acquire(config)
        let directory = config.directory
        return StoreHoldingExtension(QueryExtension(settings: s, reader: store, logger: context.logger,
                                                    metrics: context.metrics, auth: auth)) {
            stores.release(directory: directory)
        }
    }
}
