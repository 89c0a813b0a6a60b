/// Formatting helpers for the Prometheus text exposition format.
public enum PrometheusText {
    enum Sample {
        case value(Double)
        case histogram(bounds: [Double], cumulative: [UInt64], sum: Double, count: UInt64)
    }

    static func append(name: String, labels: MetricsRegistry.Labels, instrument: Sample, to out: inout String) {
        switch instrument {
        case .value(let v):
            out += "\(name)\(labelText(labels)) \(number(v))\n"
        case .histogram(let bounds, let cumulative, let sum, let count):
            for (bound, c) in zip(bounds, cumulative) {
                out += "\(name)_bucket\(labelText(labels + [("le", number(bound))])) \(c)\n"
            }
            out += "\(name)_bucket\(labelText(labels + [("le", "+Inf")])) \(count)\n"
            out += "\(name)_sum\(labelText(labels)) \(number(sum))\n"
            out += "\(name)_count\(labelText(labels)) \(count)\n"
        }
    }

    public static func labelText(_ labels: MetricsRegistry.Labels) -> String {
        guard !labels.isEmpty else { return "" }
        return "{" + labels.map { "\($0.0)=\"\(LabelValue.escaped($0.1))\"" }.joined(separator: ",") + "}"
    }

    public static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    public static func escapeHelp(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }
}

private extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
