import CollectorCore
import OTLPCodec

/// Writes a `MetricStore` in the Prometheus text format (0.0.4), or in OpenMetrics 1.0 with
/// exemplars (on counters and on the histogram bucket each exemplar's value falls in).
enum Exposition {
    static let textContentType = "text/plain; version=0.0.4; charset=utf-8"
    static let openMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    static func render(_ store: MetricStore, openMetrics: Bool, timestamps: Bool) -> String {
        var out = ""
        for (name, family) in store.families.sorted(by: { $0.key < $1.key }) {
            // OpenMetrics names a counter family without its _total (its samples have it).
            let familyName = openMetrics && family.type == .counter && name.hasSuffix("_total") ? String(name.dropLast(6)) : name
            if !family.help.isEmpty { out += "# HELP \(familyName) \(PrometheusText.escapeHelp(family.help))\n" }
            out += "# TYPE \(familyName) \(family.type.rawValue)\n"
            for (_, s) in family.series.sorted(by: { $0.key < $1.key }) {
                let stamp = timestamps ? " " + timestamp(s.time, openMetrics: openMetrics) : ""
                switch family.type {
                case .counter, .gauge:
                    out += "\(name)\(PrometheusText.labelText(s.labels)) \(PrometheusText.number(s.value))\(stamp)"
                    if openMetrics, family.type == .counter, let e = s.exemplars.last { out += exemplar(e) }
                    out += "\n"
                case .histogram:
                    var cumulative: UInt64 = 0
                    for (i, count) in s.buckets.enumerated() {
                        cumulative &+= count
                        let le = i < s.bounds.count ? PrometheusText.number(s.bounds[i]) : "+Inf"
                        out += "\(name)_bucket\(PrometheusText.labelText(s.labels + [("le", le)])) \(cumulative)\(stamp)"
                        if openMetrics, let e = s.exemplars.last(where: { ExplicitBuckets.index(of: $0.value, in: s.bounds) == i }) { out += exemplar(e) }
                        out += "\n"
                    }
                    if s.buckets.isEmpty {
                        out += "\(name)_bucket\(PrometheusText.labelText(s.labels + [("le", "+Inf")])) \(s.count)\(stamp)\n"
                    }
                    out += "\(name)_sum\(PrometheusText.labelText(s.labels)) \(PrometheusText.number(s.sum))\(stamp)\n"
                    out += "\(name)_count\(PrometheusText.labelText(s.labels)) \(s.count)\(stamp)\n"
                case .summary:
                    for (q, v) in s.quantiles {
                        out += "\(name)\(PrometheusText.labelText(s.labels + [("quantile", PrometheusText.number(q))])) \(PrometheusText.number(v))\(stamp)\n"
                    }
                    out += "\(name)_sum\(PrometheusText.labelText(s.labels)) \(PrometheusText.number(s.sum))\(stamp)\n"
                    out += "\(name)_count\(PrometheusText.labelText(s.labels)) \(s.count)\(stamp)\n"
                }
            }
        }
        if !store.targets.isEmpty {
            out += "# HELP target_info Target metadata\n# TYPE target_info gauge\n"
            for (labels, _) in store.targets.sorted(by: { $0.key < $1.key }) { out += "target_info\(labels) 1\n" }
        }
        if openMetrics { out += "# EOF\n" }
        return out
    }

    /// ` # {trace_id="...",span_id="..."} value timestamp` (OpenMetrics; seconds).
    private static func exemplar(_ e: OTLPMetricPoints.Exemplar) -> String {
        var labels: [(String, String)] = []
        if !e.traceID.isEmpty { labels.append(("trace_id", Hex.string(e.traceID))) }
        if !e.spanID.isEmpty { labels.append(("span_id", Hex.string(e.spanID))) }
        let time = e.time > 0 ? " " + timestamp(e.time, openMetrics: true) : ""
        return " # \(labels.isEmpty ? "{}" : PrometheusText.labelText(labels)) \(PrometheusText.number(e.value))\(time)"
    }

    /// Milliseconds (text format) or seconds with a fraction (OpenMetrics).
    private static func timestamp(_ unixNanos: UInt64, openMetrics: Bool) -> String {
        guard openMetrics else { return String(unixNanos / 1_000_000) }
        let ms = unixNanos / 1_000_000
        let fraction = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
