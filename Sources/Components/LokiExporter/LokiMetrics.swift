import CollectorCore

/// The exporter's self-metrics (one set per exporter name):
/// - `collectord_loki_requests_total{exporter,status}`: pushes by HTTP status (`error` when no
///   answer came: connection refused, reset or timed out);
/// - `collectord_loki_retries_total{exporter}`: retries scheduled;
/// - `collectord_loki_sent_entries_total{exporter}`: entries Loki accepted;
/// - `collectord_loki_dropped_entries_total{exporter}`: entries dropped (rejected with a 4xx
///   other than 429, or undecodable);
/// - `otelcol_exporter_queue_size{exporter}` and `collectord_loki_queue_bytes{exporter}`: the
///   disk queue's waiting batches and bytes (registered by `LokiExporter`).
struct LokiMetrics: Sendable {
    let registry: MetricsRegistry
    let exporter: String
    let retries: Counter
    let sent: Counter
    let dropped: Counter

    init(registry: MetricsRegistry, exporter: String) {
        self.registry = registry
        self.exporter = exporter
        let labels = [("exporter", exporter)]
        retries = registry.counter("collectord_loki_retries_total", help: "Loki pushes retried.", labels: labels)
        sent = registry.counter("collectord_loki_sent_entries_total", help: "Log entries accepted by Loki.", labels: labels)
        dropped = registry.counter("collectord_loki_dropped_entries_total",
                                   help: "Log entries dropped: rejected by Loki (4xx other than 429) or undecodable.",
                                   labels: labels)
    }

    func request(status: Int?) -> Counter {
        registry.counter("collectord_loki_requests_total", help: "Loki push requests by HTTP status (error: no answer).",
                         labels: [("exporter", exporter), ("status", status.map(String.init) ?? "error")])
    }
}
