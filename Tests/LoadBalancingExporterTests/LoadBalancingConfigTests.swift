import BackendResolver
import CollectorCore
import CollectorTesting
import LoadBalancingExporter
import Testing

/// The `loadbalancing` exporter's keys, as upstream spells them, and its validation messages.
@Suite struct LoadBalancingConfigTests {
    static let parser = ConfigParser(factories: [LoadBalancingFactory(), StubComponentFactory(type: "otlp", kind: .receiver)])

    static func parse(_ exporter: String) throws(ConfigError) -> LoadBalancingSettings? {
        let yaml = """
            receivers: {otlp: {}}
            exporters:
              loadbalancing:
            \(exporter)
            service:
              pipelines:
                traces: {receivers: [otlp], exporters: [loadbalancing]}
            """
        return try parser.parse(yaml: yaml, file: "t.yaml", environment: [:]).components[.exporter]?.first?.settings as? LoadBalancingSettings
    }

    @Test func resolversAndProtocol() throws {
        let dns = try #require(try Self.parse("""
                routing_key: service
                protocol:
                  otlp: {tls: {insecure: true}, timeout: 2s, compression: zstd}
                resolver:
                  dns: {hostname: gw-headless, port: 4317, interval: 2s}
            """))
        #expect(dns.routingKey == .service && dns.otlp.tls.insecure && dns.otlp.timeout == 2_000_000_000 && dns.otlp.compression == .zstd)
        #expect(dns.resolver == .dns(hostname: "gw-headless", port: 4317, intervalNanos: 2_000_000_000))
        let k8s = try #require(try Self.parse("""
                resolver:
                  k8s: {service: gateways.observability, ports: [4317, 4318], return_hostnames: true}
            """))
        #expect(k8s.resolver == .k8s(K8sResolverSettings(service: "gateways", namespace: "observability", ports: [4317, 4318],
                                                         returnHostnames: true)))
        #expect(k8s.routingKey == nil && k8s.key(for: .traces) == .traceID && k8s.key(for: .logs) == .service)
        let fixed = try #require(try Self.parse("""
                resolver:
                  static: {hostnames: [gw-1:4317, gw-0:4317]}
            """))
        #expect(fixed.resolver == .fixed(["gw-1:4317", "gw-0:4317"]))
    }

    @Test func exactlyOneResolver() {
        for (text, message) in [
            ("        resolver: {}", "a resolver is required (resolver.static, resolver.dns or resolver.k8s)"),
            ("        resolver:\n          static: {hostnames: [a]}\n          dns: {hostname: b}", "only one resolver may be set, found static and dns"),
            ("        protocol: {otlp: {endpoint: x:4317}}\n        resolver: {static: {hostnames: [a]}}", "is set by the resolver; leave it out"),
        ] {
            do {
                _ = try Self.parse(text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }
}
