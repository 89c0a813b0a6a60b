import CollectorCore

/// Settings of the `servicegraph` connector, with the OTel Collector's keys and defaults.
///
/// ```yaml
/// connectors:
///   servicegraph:
///     latency_histogram_buckets: [2ms, 4ms, ...]   # upstream's 16, 2ms to 15s
///     dimensions: [http.method]                    # client_http_method, server_http_method
///     store: {ttl: 2s, max_items: 1000}
///     metrics_flush_interval: 60s
///     virtual_node_peer_attributes: [peer.service, db.name, db.system]
///     database_name_attributes: [db.name]
/// ```
public struct ServiceGraphSettings: ComponentSettings, Equatable {
    /// Seconds.
    public var buckets: [Double] = [0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15]
    public var dimensions: [String] = []
    /// ns.
    public var ttl: UInt64 = 2_000_000_000
    public var maxItems = 1000
    /// ns.
    public var flushInterval: UInt64 = 60_000_000_000
    public var peerAttributes = ["peer.service", "db.name", "db.system"]
    public var databaseNameAttributes = ["db.name"]

    public init() {}
}

public struct ServiceGraphFactory: ConnectorFactory {
    public init() {}
    public var type: String { "servicegraph" }
    public var kind: ComponentKind { .connector }
    public var signals: Set<Signal> { [.traces, .metrics] }

    public func supports(from: Signal, to: Signal) -> Bool { from == .traces && to == .metrics }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = ServiceGraphSettings()
        if reader.node["latency_histogram_buckets"] != nil {
            let texts = reader.stringList("latency_histogram_buckets")
            let values = texts.compactMap { DurationParser.nanoseconds($0) }
            if values.count != texts.count { reader.problem("latency_histogram_buckets", "expected durations such as 2ms, 1s") }
            s.buckets = values.map { Double($0) / 1e9 }
            if zip(s.buckets, s.buckets.dropFirst()).contains(where: { $0 >= $1 }) {
                reader.problem("latency_histogram_buckets", "buckets must be in increasing order")
            }
        }
        s.dimensions = reader.stringList("dimensions")
        if let store = reader.section("store") {
            s.ttl = store.duration("ttl", default: s.ttl)
            s.maxItems = store.int("max_items", default: s.maxItems, range: 1...10_000_000)
        }
        s.flushInterval = reader.duration("metrics_flush_interval", default: s.flushInterval)
        if s.flushInterval == 0 { reader.problem("metrics_flush_interval", "must be more than 0") }
        if reader.node["virtual_node_peer_attributes"] != nil { s.peerAttributes = reader.stringList("virtual_node_peer_attributes") }
        if reader.node["database_name_attributes"] != nil { s.databaseNameAttributes = reader.stringList("database_name_attributes") }
        // Upstream's loop intervals: this connector expires edges as spans arrive and at each flush.
        _ = reader.raw("cache_loop")
        _ = reader.raw("store_expiration_loop")
        _ = reader.raw("virtual_node_extra_label")
        if reader.node["metrics_exporter"] != nil {
            _ = reader.raw("metrics_exporter")
            reader.problem("metrics_exporter", "metrics_exporter was removed upstream: list the connector as a receiver of a metrics pipeline")
        }
        return s
    }
}

extension ServiceGraphFactory {
    public func makeConnector(_ settings: any ComponentSettings, from: Signal, to: Signal, context: ComponentContext,
                              next: any Consumer) throws -> any Exporter {
        ServiceGraphConnector(settings: try context.settings(settings, as: ServiceGraphSettings.self),
                              name: context.id.description, next: next, metrics: context.metrics, logger: context.logger)
    }
}
