import CollectorCore

/// The receiver's self-metrics (label `receiver`).
struct FileLogMetrics: Sendable {
    let filesWatched: Gauge
    let bytesRead: Counter
    let linesRead: Counter
    let rotations: Counter
    let truncations: Counter
    let linesCut: Counter
    let readErrors: Counter
    let accepted: Counter
    let refused: Counter
    let ackFailures: Counter
    let overdrafts: Counter

    init(registry: MetricsRegistry, receiver: String) {
        let l: MetricsRegistry.Labels = [("receiver", receiver)]
        filesWatched = registry.gauge("collectord_filelog_files_watched", help: "Files currently open by the filelog receiver.", labels: l)
        bytesRead = registry.counter("collectord_filelog_bytes_read_total", help: "Bytes read from log files.", labels: l)
        linesRead = registry.counter("collectord_filelog_lines_read_total", help: "Lines read from log files.", labels: l)
        rotations = registry.counter("collectord_filelog_rotations_total", help: "Rename rotations seen (a watched file found under a new path).", labels: l)
        truncations = registry.counter("collectord_filelog_truncations_total", help: "Truncations seen (copytruncate or rewritten files).", labels: l)
        linesCut = registry.counter("collectord_filelog_lines_cut_total", help: "Entries cut at max_log_size.", labels: l)
        readErrors = registry.counter("collectord_filelog_read_errors_total", help: "Files that could not be opened or read.", labels: l)
        let rl: MetricsRegistry.Labels = [("receiver", receiver), ("transport", "file")]
        accepted = registry.counter("otelcol_receiver_accepted_log_records_total", help: "Log records accepted by the pipeline.", labels: rl)
        refused = registry.counter("otelcol_receiver_refused_log_records_total", help: "Log records refused by the pipeline (retried later by the filelog receiver).", labels: rl)
        ackFailures = registry.counter("collectord_filelog_ack_failures_total", help: "Batches whose delivery failed (retryable ones are sent again).", labels: l)
        overdrafts = registry.counter("collectord_filelog_in_flight_overdrafts_total",
                                      help: "Times reading, paused at the in-flight bound with no acknowledgement for 100 ms, was allowed twice the bound.",
                                      labels: l)
    }
}
