import CollectorCore

/// The processor's self-metrics, with upstream's names (`otelcol_processor_tail_sampling_*`)
/// plus ours for early decisions, handovers and held bytes (`collectord_processor_tail_sampling_*`).
final class TailSamplingMetrics {
    private let registry: MetricsRegistry
    private let prefix: String
    private let labels: [(String, String)]
    private let policyNames: [String]
    /// Per policy (index) and decision label (sampled, not_sampled, dropped).
    private var perPolicy: [[Counter?]]
    private var global: [Counter?] = [nil, nil, nil]
    private var early: [String: Counter] = [:]
    private var releases: [Bool: Counter] = [:]
    private let newTraces: Counter
    private let handovers: Counter
    private let replayed: Counter
    private let holdFailures: Counter
    private let onMemory: Gauge
    private let heldBytes: Gauge
    private let lateSpanAge: Histogram
    private let droppedTooEarly: Counter
    private let evaluationErrors: Counter

    init(name: ComponentID, registry: MetricsRegistry, policies: [String]) {
        self.registry = registry
        policyNames = policies
        perPolicy = Array(repeating: [nil, nil, nil], count: policies.count)
        // Upstream's policy label: "<component name>.<policy>" when the id has a name.
        prefix = name.name.map { "\($0)." } ?? ""
        labels = [("processor", name.description)]
        let p = "otelcol_processor_tail_sampling_"
        newTraces = registry.counter(p + "new_trace_id_received_total", help: "Counts the arrival of new traces", labels: labels)
        onMemory = registry.gauge(p + "sampling_traces_on_memory", help: "Tracks the number of traces current on memory", labels: labels)
        lateSpanAge = registry.histogram(p + "sampling_late_span_age", help: "Time (in seconds) from the sampling decision was taken and the arrival of a late span",
                                         labels: labels, bounds: [0, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200])
        droppedTooEarly = registry.counter(p + "sampling_trace_dropped_too_early_total",
                                           help: "Count of traces that needed to be dropped before the configured wait time (never: the oldest trace is decided early instead)", labels: labels)
        evaluationErrors = registry.counter(p + "sampling_policy_evaluation_error_total", help: "Count of sampling policy evaluation errors", labels: labels)
        handovers = registry.counter("collectord_processor_tail_sampling_handed_over_traces_total",
                                     help: "Held traces taken over from the instance this one replaced in a reload", labels: labels)
        replayed = registry.counter("collectord_processor_tail_sampling_replayed_traces_total",
                                    help: "Held traces found in the storage hold at start (left by a previous run)", labels: labels)
        holdFailures = registry.counter("collectord_processor_tail_sampling_hold_failures_total",
                                        help: "Writes to or reads from the storage hold that failed (the request was refused, or a sampled trace lost)", labels: labels)
        heldBytes = registry.gauge("collectord_processor_tail_sampling_held_bytes", help: "Span bytes held while their traces wait for a decision", labels: labels)
    }

    func newTrace() { newTraces.increment() }
    func recovered(_ n: Int) { replayed.add(n) }
    func holdFailed() { holdFailures.increment() }
    func handedOver(_ n: Int) { handovers.add(n) }

    func setHeld(traces: Int, bytes: Int) {
        onMemory.set(traces)
        heldBytes.set(bytes)
    }

    func lateSpan(ageSeconds: Double) { lateSpanAge.observe(ageSeconds.rounded(.down)) }

    func earlyRelease(spans: Int, sampled: Bool) {
        if releases[sampled] == nil {
            releases[sampled] = registry.counter("otelcol_processor_tail_sampling_early_releases_from_cache_decision_total",
                                                 help: "Number of spans that were able to be immediately released due to a decision cache hit.",
                                                 labels: labels + [("sampled", sampled ? "true" : "false")])
        }
        releases[sampled]!.add(spans)
    }

    func decided(_ final: Decision, policies: [(Int, Decision)], early reason: String?) {
        for (policy, d) in policies {
            let k = d.labelIndex
            if perPolicy[policy][k] == nil {
                let l = d.labels
                perPolicy[policy][k] = registry.counter("otelcol_processor_tail_sampling_count_traces_sampled_total",
                                                        help: "Count of traces that were sampled or not per sampling policy",
                                                        labels: labels + [("policy", prefix + policyNames[policy]), ("sampled", l.sampled), ("decision", l.decision)])
            }
            perPolicy[policy][k]!.increment()
        }
        let k = final.labelIndex
        if global[k] == nil {
            let l = final.labels
            global[k] = registry.counter("otelcol_processor_tail_sampling_global_count_traces_sampled_total",
                                         help: "Global count of traces that were sampled or not by at least one policy",
                                         labels: labels + [("sampled", l.sampled), ("decision", l.decision)])
        }
        global[k]!.increment()
        if let reason {
            if early[reason] == nil {
                early[reason] = registry.counter("collectord_processor_tail_sampling_early_decisions_total",
                                                 help: "Traces decided before decision_wait because num_traces or max_held_bytes was reached, or at shutdown",
                                                 labels: labels + [("reason", reason)])
            }
            early[reason]!.increment()
        }
    }
}
