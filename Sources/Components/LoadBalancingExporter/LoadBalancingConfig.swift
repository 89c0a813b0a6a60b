import BackendResolver
import CollectorCore
import ExporterHelper
import OTLPExporter

/// Settings of the `loadbalancing` exporter, with the OTel Collector contrib's keys.
///
/// ```yaml
/// exporters:
///   loadbalancing:
///     routing_key: traceID            # traceID (default for traces) | service (default for logs)
///     protocol:
///       otlp:                         # the otlp exporter's keys; the endpoint comes from the resolver
///         tls: {insecure: true}
///         timeout: 5s
///     resolver:                       # exactly one of:
///       static: {hostnames: [gw-0:4317, gw-1:4317]}
///       dns: {hostname: collectord-gateway-headless, port: 4317, interval: 5s, timeout: 1s}
///       k8s: {service: collectord-gateway.observability, ports: [4317], timeout: 1s, return_hostnames: false}
///     retry_on_failure: {max_elapsed_time: 300s}
///     sending_queue: {storage: /var/lib/collectord/loadbalancing}
/// ```
public struct LoadBalancingSettings: ComponentSettings, Equatable {
    public enum Resolution: Sendable, Equatable {
        case fixed([String])
        case dns(hostname: String, port: Int?, intervalNanos: UInt64)
        /// A Service's EndpointSlices, watched (`resolver.k8s`).
        case k8s(K8sResolverSettings)
    }

    /// nil: per signal (traceID for traces, service for logs).
    public var routingKey: RoutingKey?
    public var otlp = OTLPExporterSettings()
    public var resolver = Resolution.fixed([])
    public var retry = RetrySettings()
    public var queue = QueueSettings()
    public var batchMaxBytes = 4 << 20
    public var shutdownTimeout: UInt64 = 5_000_000_000

    public init() {}

    public func key(for signal: Signal) -> RoutingKey { routingKey ?? (signal == .traces ? .traceID : .service) }
}

public struct LoadBalancingFactory: ExporterFactory {
    public init() {}
    public var type: String { "loadbalancing" }
    public var kind: ComponentKind { .exporter }
    public var signals: Set<Signal> { [.traces, .logs] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = LoadBalancingSettings()
        if reader.node["routing_key"] != nil {
            s.routingKey = RoutingKey(rawValue: reader.choice("routing_key", ["traceID", "service"], default: "traceID"))
        }
        if let proto = reader.section("protocol") {
            if let otlp = proto.section("otlp") {
                OTLPExporterFactory.read(otlp, into: &s.otlp)
                if !s.otlp.endpoint.isEmpty { otlp.problem("endpoint", "is set by the resolver; leave it out") }
            }
        }
        var found: [String] = []
        if let resolver = reader.section("resolver") {
            if let fixed = resolver.section("static") {
                found.append("static")
                let hostnames = fixed.stringList("hostnames")
                if hostnames.isEmpty { fixed.problem("hostnames", "must list at least one endpoint") }
                s.resolver = .fixed(hostnames)
            }
            if let dns = resolver.section("dns") {
                found.append("dns")
                let hostname = dns.string("hostname", default: "")
                if hostname.isEmpty { dns.problem("hostname", "is required") }
                let port = dns.node["port"] == nil ? nil : dns.int("port", default: 4317, range: 1...65535)
                let interval = dns.duration("interval", default: 5_000_000_000)
                if interval == 0 { dns.problem("interval", "must be more than 0") }
                _ = dns.duration("timeout", default: 1_000_000_000)
                s.resolver = .dns(hostname: hostname, port: port, intervalNanos: interval)
            }
            if let k8s = resolver.section("k8s") {
                found.append("k8s")
                s.resolver = .k8s(K8sResolverSettings.read(k8s))
            }
            if resolver.node["aws_cloud_map"] != nil { resolver.problem("aws_cloud_map", "is not supported") }
            if found.count > 1 { resolver.sink.add(resolver.node, "only one resolver may be set, found \(found.joined(separator: " and "))") }
        }
        if found.isEmpty { reader.sink.add(reader.node, "a resolver is required (resolver.static, resolver.dns or resolver.k8s)") }
        reader.retrySettings(&s.retry)
        reader.queueSettings(&s.queue)
        _ = reader.duration("timeout", default: 0)
        s.shutdownTimeout = reader.duration("shutdown_timeout", default: s.shutdownTimeout)
        return s
    }
}

extension LoadBalancingFactory {
    public func makeExporter(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Exporter {
        try LoadBalancingExporter(settings: try context.settings(settings, as: LoadBalancingSettings.self), name: context.id.description,
                                  logger: context.logger, metrics: context.metrics)
    }
}
