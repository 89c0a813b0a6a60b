import CollectorCore
import OTLPCodec

/// The `prometheus` exporter's view of the metrics it was sent: the latest value of every
/// series, ready to be scraped.
///
/// Design: a series is a Prometheus family name plus its sorted labels (the point's attributes,
/// the resource's `job` / `instance`, `const_labels`, and with
/// `resource_to_telemetry_conversion` every resource attribute). Cumulative points replace
/// what is held; delta points of monotonic sums and histograms are added to it (Prometheus
/// wants cumulative values), as upstream does. Points that have no Prometheus form (delta
/// non-monotonic sums, exponential histograms) or whose family already has another type are
/// dropped and counted by reason. Series not updated for `metric_expiration` are removed when
/// the store is next written to or read. Not thread-safe: the exporter holds it in a mutex.
struct MetricStore {
    enum FamilyType: String { case counter, gauge, histogram, summary }

    struct Series {
        var labels: [(String, String)]
        var value: Double = 0
        var count: UInt64 = 0
        var sum: Double = 0
        var bounds: [Double] = []
        /// Per-bucket counts (the last one is +Inf).
        var buckets: [UInt64] = []
        var quantiles: [(Double, Double)] = []
        var exemplars: [OTLPMetricPoints.Exemplar] = []
        /// Unix ns of the point (send_timestamps).
        var time: UInt64 = 0
        /// Monotonic ns of the last update (expiration).
        var updated: UInt64 = 0
    }

    struct Family {
        var type: FamilyType
        var help: String
        var series: [String: Series] = [:]
    }

    let settings: PrometheusSettings
    private(set) var families: [String: Family] = [:]
    /// target_info series, by label text.
    private(set) var targets: [String: Series] = [:]
    private(set) var dropped: [String: Int] = [:]

    init(settings: PrometheusSettings) {
        self.settings = settings
    }

    /// What a resource gives each of its points' series, worked out once per resource.
    struct Resource {
        /// `job` and `instance`.
        var jobAndInstance: [(String, String)]
        /// With `resource_to_telemetry_conversion`: every attribute, as labels.
        var telemetry: [(String, String)] = []
        /// target_info's labels (sorted) and their text; nil when there is no other attribute.
        var info: (labels: [(String, String)], text: String)?

        init(_ attributes: [(key: String, value: OTLPMetricPoints.Value)], settings: PrometheusSettings) {
            let labels = MetricStore.resourceLabels(attributes)
            jobAndInstance = labels.jobAndInstance
            if settings.resourceToTelemetry { telemetry = attributes.map { (PrometheusNames.label($0.key), $0.value.text) } }
            if !labels.info.isEmpty {
                let sorted = (labels.jobAndInstance + labels.info).sorted { $0.0 < $1.0 }
                info = (sorted, PrometheusText.labelText(sorted))
            }
        }
    }

    /// `add` for a resource given by its attributes (and its target_info series updated).
    mutating func add(resource attributes: [(key: String, value: OTLPMetricPoints.Value)], metric: OTLPMetricPoints.Metric,
                      point: OTLPMetricPoints.Point, now: UInt64) {
        let resource = Resource(attributes, settings: settings)
        if add(resource: resource, metric: metric, point: point, now: now) { seen(resource, now: now) }
    }

    /// Keeps `resource`'s target_info series (when it has other attributes than job and instance).
    mutating func seen(_ resource: Resource, now: UInt64) {
        if let info = resource.info { targets[info.text] = Series(labels: info.labels, value: 1, updated: now) }
    }

    /// Stores the point; false when it was dropped (counted in `dropped`).
    @discardableResult
    mutating func add(resource: Resource, metric: OTLPMetricPoints.Metric, point: OTLPMetricPoints.Point, now: UInt64) -> Bool {
        let delta = metric.temporality == 1
        let type: FamilyType
        switch metric.kind {
        case .gauge: type = .gauge
        case .sum:
            if metric.monotonic {
                type = .counter
            } else if delta {
                return drop("delta non-monotonic sum")
            } else {
                type = .gauge
            }
        case .histogram: type = .histogram
        case .summary: type = .summary
        case .exponentialHistogram: return drop("exponential histogram")
        }
        let name = PrometheusNames.metric(metric.name, unit: metric.unit, counter: type == .counter,
                                          gauge: type == .gauge, namespace: settings.namespace, suffixes: settings.addSuffixes)
        if let known = families[name]?.type, known != type { return drop("type conflict") }
        var labels: [String: String] = [:]
        for (k, v) in resource.telemetry { labels[k] = v }
        for (k, v) in point.attributes { labels[PrometheusNames.label(k)] = v.text }
        for (k, v) in resource.jobAndInstance { labels[k] = v }
        for (k, v) in settings.constLabels { labels[PrometheusNames.label(k)] = v }
        let sorted = labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let key = PrometheusText.labelText(sorted)
        if families[name] == nil { families[name] = Family(type: type, help: metric.description) }
        // Taken out of the family and put back, so neither the dictionary of families nor the
        // family's series are copied (each `add` would otherwise copy every series).
        var series = families[name]!.series.removeValue(forKey: key) ?? Series(labels: sorted)
        let accumulate = delta && (type == .counter || type == .histogram) && series.updated != 0
        switch type {
        case .counter, .gauge:
            series.value = accumulate ? series.value + point.value : point.value
            series.exemplars = point.exemplars
        case .histogram:
            if accumulate && series.bounds == point.bounds && series.buckets.count == point.bucketCounts.count {
                series.count &+= point.count
                series.sum += point.sum
                series.buckets = zip(series.buckets, point.bucketCounts).map { $0 &+ $1 }
            } else {
                series.count = point.count
                series.sum = point.sum
                series.bounds = point.bounds
                series.buckets = point.bucketCounts
            }
            series.exemplars = point.exemplars
        case .summary:
            series.count = point.count
            series.sum = point.sum
            series.quantiles = point.quantiles
        }
        series.time = point.time
        series.updated = now
        families[name]!.series[key] = series
        return true
    }

    /// Counts a dropped point; false, for `add` to return.
    private mutating func drop(_ reason: String) -> Bool {
        dropped[reason, default: 0] += 1
        return false
    }

    /// `job` (service.namespace/service.name) and `instance` (service.instance.id), and the
    /// other resource attributes (for target_info), as upstream derives them.
    static func resourceLabels(_ resource: [(key: String, value: OTLPMetricPoints.Value)])
        -> (jobAndInstance: [(String, String)], info: [(String, String)]) {
        var service: String?, namespace: String?, instance: String?
        var info: [(String, String)] = []
        for (k, v) in resource {
            switch k {
            case "service.name": service = v.text
            case "service.namespace": namespace = v.text
            case "service.instance.id": instance = v.text
            default: info.append((PrometheusNames.label(k), v.text))
            }
        }
        var out: [(String, String)] = []
        if let service { out.append(("job", namespace.map { "\($0)/\(service)" } ?? service)) }
        if let instance { out.append(("instance", instance)) }
        return (out, info)
    }

    /// Removes series not updated since `now - metric_expiration`.
    mutating func expire(now: UInt64) {
        guard settings.expiration > 0 else { return }
        let limit = settings.expiration
        for (name, var family) in families {
            family.series = family.series.filter { age(of: $0.value.updated, at: now) < limit }
            families[name] = family.series.isEmpty ? nil : family
        }
        targets = targets.filter { age(of: $0.value.updated, at: now) < limit }
    }

    var seriesCount: Int { families.values.reduce(0) { $0 + $1.series.count } }
}
