/// The kinds of telemetry a pipeline carries. A pipeline carries exactly one.
public enum Signal: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case traces
    case logs
    case metrics

    /// What one item of this signal is called in metric names: `spans`, `log_records` or
    /// `metric_points` (the OTel Collector's `otelcol_receiver_accepted_metric_points`).
    public var itemMetricName: String {
        switch self {
        case .traces: "spans"
        case .logs: "log_records"
        case .metrics: "metric_points"
        }
    }

    public var description: String { rawValue }
}
