import CollectorCore

/// The exporter's own metrics (the pipeline's exporter stage counts `otelcol_exporter_sent_*`
/// and `_send_failed_*`), per exporter and signal:
/// - `collectord_otlphttp_requests_total{exporter,signal,status}`: requests by HTTP status
///   (`error` when no answer came);
/// - `collectord_otlphttp_retries_total{exporter,signal}`: retries scheduled;
/// - `collectord_otlphttp_partially_rejected_items_total{exporter,signal}`: items a server
///   rejected in a `partial_success` answer (logged, not retried).
struct OTLPHTTPMetrics: Sendable {
    let registry: MetricsRegistry
    let labels: [(String, String)]
    let retries: Counter
    let partiallyRejected: Counter

    init(registry: MetricsRegistry, exporter: String, signal: Signal) {
        self.registry = registry
        labels = [("exporter", exporter), ("signal", "\(signal)")]
        retries = registry.counter("collectord_otlphttp_retries_total", help: "OTLP/HTTP exports retried.", labels: labels)
        partiallyRejected = registry.counter("collectord_otlphttp_partially_rejected_items_total",
                                             help: "Items the server rejected in a partial_success answer.", labels: labels)
    }

    func request(status: Int?) -> Counter {
        registry.counter("collectord_otlphttp_requests_total", help: "OTLP/HTTP export requests by HTTP status (error: no answer).",
                         labels: labels + [("status", status.map(String.init) ?? "error")])
    }
}
