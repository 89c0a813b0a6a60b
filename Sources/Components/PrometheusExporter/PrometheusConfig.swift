import CollectorCore
import Transport

/// Settings of the `prometheus` exporter, with the OTel Collector's keys and defaults.
///
/// ```yaml
/// exporters:
///   prometheus:
///     endpoint: 0.0.0.0:8889                      # required; scraped at /metrics
///     namespace: ""                               # prefixed to every name, with "_"
///     const_labels: {cluster: prod}
///     resource_to_telemetry_conversion: {enabled: false}
///     enable_open_metrics: false                  # OpenMetrics (with exemplars) when the scraper asks for it
///     metric_expiration: 5m
///     send_timestamps: false
///     add_metric_suffixes: true
/// ```
public struct PrometheusSettings: ComponentSettings, Equatable {
    public var endpoint = ""
    public var namespace = ""
    public var constLabels: [String: String] = [:]
    public var resourceToTelemetry = false
    public var openMetrics = false
    /// ns.
    public var expiration: UInt64 = 300_000_000_000
    public var sendTimestamps = false
    public var addSuffixes = true

    public init() {}
}

public struct PrometheusFactory: ExporterFactory {
    public init() {}
    public var type: String { "prometheus" }
    public var kind: ComponentKind { .exporter }
    public var signals: Set<Signal> { [.metrics] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = PrometheusSettings()
        s.endpoint = reader.string("endpoint", default: "")
        if s.endpoint.isEmpty {
            reader.sink.add(reader.node, "endpoint is required (host:port to serve /metrics on)")
        } else if (try? Endpoint(parsing: s.endpoint)) == nil {
            reader.problem("endpoint", "expected host:port, found \"\(s.endpoint)\"")
        }
        s.namespace = reader.string("namespace", default: "")
        if let labels = reader.section("const_labels") {
            for (key, _) in labels.node.mapping ?? [] { s.constLabels[key] = labels.string(key, default: "") }
        }
        if let conversion = reader.section("resource_to_telemetry_conversion") {
            s.resourceToTelemetry = conversion.bool("enabled", default: false)
        }
        s.openMetrics = reader.bool("enable_open_metrics", default: false)
        s.expiration = reader.duration("metric_expiration", default: s.expiration)
        s.sendTimestamps = reader.bool("send_timestamps", default: false)
        s.addSuffixes = reader.bool("add_metric_suffixes", default: true)
        _ = reader.section("tls").map { _ in reader.problem("tls", "tls is not supported by the prometheus exporter yet") }
        return s
    }
}

extension PrometheusFactory {
    public func makeExporter(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Exporter {
        try PrometheusExporter(settings: try context.settings(settings, as: PrometheusSettings.self), name: context.id.description,
                               metrics: context.metrics, logger: context.logger)
    }
}
