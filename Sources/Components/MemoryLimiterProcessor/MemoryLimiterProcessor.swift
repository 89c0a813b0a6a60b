import CollectorCore

/// The `memory_limiter` processor: refuses data while the process's resident memory is at or
/// above the soft limit, so that receivers push back instead of the process growing until the
/// kernel kills it (upstream's `memorylimiterprocessor`).
///
/// A refused batch is completed at once with a retryable error ("data refused due to high
/// memory usage"): the OTLP receivers answer its clients UNAVAILABLE (gRPC) or 503 with
/// Retry-After (HTTP), and the filelog receiver keeps the lines and sends them again after a
/// backoff. Put it first in the pipeline, as upstream advises, so nothing is spent on data
/// that is refused. The decision is taken by the shared `MemoryMonitor` on its own timer; here
/// it costs one atomic load per batch. Holds nothing: nothing to flush or hand over.
///
/// Counts `otelcol_processor_accepted_*` and `otelcol_processor_refused_*` (spans, log
/// records) with the `processor` label, as upstream's obsreport does.
public final class MemoryLimiterProcessor: Processor {
    static let refusal = ComponentError.retryable("data refused due to high memory usage")

    let name: String
    private let metrics: MetricsRegistry
    private let registry: MonitorRegistry
    private let key: MonitorRegistry.Key
    private let make: () -> MemoryMonitor
    /// The shared monitor, while started.
    private(set) var monitor: MemoryMonitor?
    /// Accepted and refused counters of the pipeline's signal, made at its first batch (a
    /// processor instance serves one pipeline, hence one signal).
    private var counters: (signal: Signal, accepted: Counter, refused: Counter)?

    init(name: String, metrics: MetricsRegistry, registry: MonitorRegistry, key: MonitorRegistry.Key,
         make: @escaping () -> MemoryMonitor) {
        self.name = name
        self.metrics = metrics
        self.registry = registry
        self.key = key
        self.make = make
    }

    public func start() throws {
        guard monitor == nil else { return }
        monitor = registry.acquire(key, make: make)
    }

    public func shutdown() {
        guard let monitor else { return }
        self.monitor = nil
        registry.release(monitor)
    }

    public var nextDeadline: UInt64? { nil }
    public func timerFired(now: UInt64, emit: (TelemetryBatch) -> Void) {}
    public func flush(emit: (TelemetryBatch) -> Void) {}

    public func process(_ batch: TelemetryBatch, now: UInt64, emit: (TelemetryBatch) -> Void) {
        let (accepted, refused) = counters(batch.signal)
        if monitor?.mustRefuse == true {
            refused.add(batch.itemCount)
            return batch.complete(Self.refusal)
        }
        accepted.add(batch.itemCount)
        emit(batch)
    }

    private func counters(_ signal: Signal) -> (accepted: Counter, refused: Counter) {
        if let c = counters, c.signal == signal { return (c.accepted, c.refused) }
        let item = signal.itemMetricName
        let labels = [("processor", name)]
        let accepted = metrics.counter("otelcol_processor_accepted_\(item)_total",
                                       help: "Number of \(item) successfully pushed into the next component in the pipeline.", labels: labels)
        let refused = metrics.counter("otelcol_processor_refused_\(item)_total",
                                      help: "Number of \(item) that were rejected by the next component in the pipeline.", labels: labels)
        counters = (signal, accepted, refused)
        return (accepted, refused)
    }
}
