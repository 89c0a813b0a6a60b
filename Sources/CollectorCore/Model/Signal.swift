/// The kinds of telemetry a pipeline carries. A pipeline carries exactly one.
public enum Signal: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case traces
    case logs

    /// What one item of this signal is called in metric names: `spans` or `log_records`.
    public var itemMetricName: String {
        switch self {
        case .traces: "spans"
        case .logs: "log_records"
        }
    }

    public var description: String { rawValue }
}
