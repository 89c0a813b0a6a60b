import CollectorCore

/// Settings of the `spanmetrics` connector, with the OTel Collector's keys and defaults.
///
/// ```yaml
/// connectors:
///   spanmetrics:
///     namespace: traces.span.metrics          # metric names: <namespace>.calls, <namespace>.duration
///     histogram:
///       unit: ms                              # or s
///       explicit: {buckets: [2ms, 4ms, ...]}  # upstream's 16 default buckets
///       disable: false
///     dimensions: [{name: http.method, default: GET}, {name: http.status_code}]
///     exclude_dimensions: [status.code]
///     metrics_flush_interval: 60s
///     aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE
///     aggregation_cardinality_limit: 0        # 0: none; past it, otel.metric.overflow=true
///     metrics_expiration: 0                   # 0: series never expire
///     exemplars: {enabled: false, max_per_data_point: 5}
///     resource_metrics_key_attributes: []
/// ```
public struct SpanMetricsSettings: ComponentSettings, Equatable {
    public struct Dimension: Sendable, Equatable {
        public var name: String
        public var defaultValue: String?

        public init(name: String, defaultValue: String? = nil) {
            self.name = name
            self.defaultValue = defaultValue
        }
    }

    public enum Unit: String, Sendable, Equatable {
        case milliseconds = "ms"
        case seconds = "s"

        /// Nanoseconds per unit.
        var divider: Double { self == .milliseconds ? 1e6 : 1e9 }
    }

    public var namespace = "traces.span.metrics"
    public var unit = Unit.milliseconds
    /// Explicit bucket bounds, in `unit`.
    public var buckets: [Double] = SpanMetricsSettings.defaultBucketsMs
    public var histogramDisabled = false
    public var dimensions: [Dimension] = []
    public var excludeDimensions: [String] = []
    /// ns.
    public var flushInterval: UInt64 = 60_000_000_000
    public var delta = false
    /// Series per resource (0: no limit).
    public var cardinalityLimit = 0
    /// ns (0: never).
    public var expiration: UInt64 = 0
    public var exemplars = false
    public var exemplarsPerPoint = 5
    public var resourceKeyAttributes: [String] = []

    /// Upstream's default buckets, in milliseconds.
    public static let defaultBucketsMs: [Double] = [2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10_000, 15_000]

    /// The four dimensions every series has, unless excluded.
    public static let standardDimensions = ["service.name", "span.name", "span.kind", "status.code"]

    public init() {}
}

/// `spanmetrics` (also accepted as `span_metrics`): traces in, metrics out.
public struct SpanMetricsFactory: ConnectorFactory {
    public let type: String

    public init(type: String = "spanmetrics") {
        self.type = type
    }

    public var kind: ComponentKind { .connector }
    public var signals: Set<Signal> { [.traces, .metrics] }

    public func supports(from: Signal, to: Signal) -> Bool { from == .traces && to == .metrics }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = SpanMetricsSettings()
        s.namespace = reader.string("namespace", default: s.namespace)
        if let histogram = reader.section("histogram") {
            s.histogramDisabled = histogram.bool("disable", default: false)
            s.unit = SpanMetricsSettings.Unit(rawValue: histogram.choice("unit", ["ms", "s"], default: "ms")) ?? .milliseconds
            if let explicit = histogram.section("explicit") {
                if explicit.node["buckets"] != nil {
                    let texts = explicit.stringList("buckets")
                    let list = texts.compactMap { DurationParser.nanoseconds($0) }
                    if list.count != texts.count {
                        explicit.problem("buckets", "expected durations such as 2ms, 1s")
                    }
                    s.buckets = list.map { Double($0) / s.unit.divider }
                    if zip(s.buckets, s.buckets.dropFirst()).contains(where: { $0 >= $1 }) {
                        histogram.problem("explicit", "buckets must be in increasing order")
                    }
                }
            } else if s.unit == .seconds {
                s.buckets = SpanMetricsSettings.defaultBucketsMs.map { $0 / 1000 }
            }
            if histogram.node["exponential"] != nil {
                _ = histogram.raw("exponential")
                histogram.problem("exponential", "exponential histograms are not supported yet; use explicit buckets")
            }
            _ = histogram.raw("dimensions").map { _ in histogram.problem("dimensions", "histogram dimensions are not supported yet") }
        }
        var seen = Set(SpanMetricsSettings.standardDimensions)
        s.dimensions = Self.dimensions(reader, "dimensions", seen: &seen)
        s.excludeDimensions = reader.stringList("exclude_dimensions")
        for name in s.excludeDimensions where !SpanMetricsSettings.standardDimensions.contains(name) {
            reader.problem("exclude_dimensions", "\"\(name)\" is not one of \(SpanMetricsSettings.standardDimensions.joined(separator: ", "))")
        }
        s.flushInterval = reader.duration("metrics_flush_interval", default: s.flushInterval)
        if s.flushInterval == 0 { reader.problem("metrics_flush_interval", "must be more than 0") }
        let temporality = reader.choice("aggregation_temporality", ["AGGREGATION_TEMPORALITY_CUMULATIVE", "AGGREGATION_TEMPORALITY_DELTA"],
                                        default: "AGGREGATION_TEMPORALITY_CUMULATIVE")
        s.delta = temporality == "AGGREGATION_TEMPORALITY_DELTA"
        s.cardinalityLimit = reader.int("aggregation_cardinality_limit", default: 0, range: 0...100_000_000)
        s.expiration = reader.duration("metrics_expiration", default: 0)
        if let exemplars = reader.section("exemplars") {
            s.exemplars = exemplars.bool("enabled", default: false)
            s.exemplarsPerPoint = exemplars.int("max_per_data_point", default: s.exemplarsPerPoint, range: 1...1000)
        }
        s.resourceKeyAttributes = reader.stringList("resource_metrics_key_attributes")
        // Upstream's keys this connector has no use for (its caches are bounded otherwise).
        _ = reader.raw("dimensions_cache_size")
        _ = reader.raw("resource_metrics_cache_size")
        _ = reader.raw("metric_timestamp_cache_size")
        for key in ["events", "calls_dimensions", "include_instrumentation_scope"] where reader.node[key] != nil {
            _ = reader.raw(key)
            reader.problem(key, "\(key) is not supported yet")
        }
        return s
    }

    private static func dimensions(_ reader: ConfigReader, _ key: String, seen: inout Set<String>) -> [SpanMetricsSettings.Dimension] {
        var out: [SpanMetricsSettings.Dimension] = []
        for entry in reader.sectionList(key) {
            let name = entry.string("name", default: "")
            let value = entry.node["default"] != nil ? entry.string("default", default: "") : nil
            guard !name.isEmpty else {
                reader.problem(key, "a dimension needs a name")
                continue
            }
            guard seen.insert(name).inserted else {
                reader.problem(key, "duplicate dimension name \(name)")
                continue
            }
            out.append(.init(name: name, defaultValue: value))
        }
        return out
    }
}

extension SpanMetricsFactory {
    public func makeConnector(_ settings: any ComponentSettings, from: Signal, to: Signal, context: ComponentContext,
                              next: any Consumer) throws -> any Exporter {
        SpanMetricsConnector(settings: try context.settings(settings, as: SpanMetricsSettings.self),
                             name: context.id.description, next: next, metrics: context.metrics, logger: context.logger)
    }
}
