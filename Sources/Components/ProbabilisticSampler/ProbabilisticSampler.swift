import CollectorCore
import OTLPCodec
import Sampling

/// The `probabilistic_sampler` processor: keeps each span or log record with the configured
/// probability, deciding exactly as the OpenTelemetry Collector does on the same ids (see
/// `SamplingDecider`, `SpanSampling`, `LogSampling`).
///
/// Works on the wire format: a request is laid out to its items, each item's trace id,
/// tracestate and the attributes sampling reads are looked at in place, and the request is
/// written again only when something was dropped or a kept span's tracestate changed. A batch
/// whose items are all sampled out is acknowledged at once (success: sampling is not a
/// failure). Stateless between batches, so nothing is held on a crash or reload.
public final class ProbabilisticSampler: Processor {
    let settings: ProbabilisticSamplerSettings
    let decider: SamplingDecider
    private let metrics: MetricsRegistry
    private let name: String
    private let logger: Logger
    private var counters: [String: Counter] = [:]
    private var malformed = 0

    public init(settings: ProbabilisticSamplerSettings, name: String, metrics: MetricsRegistry, logger: Logger) {
        self.settings = settings
        self.decider = SamplingDecider(settings)
        self.metrics = metrics
        self.name = name
        self.logger = logger
    }

    public var nextDeadline: UInt64? { nil }
    public func timerFired(now: UInt64, emit: (TelemetryBatch) -> Void) {}
    public func flush(emit: (TelemetryBatch) -> Void) {}

    public func process(_ batch: TelemetryBatch, now: UInt64, emit: (TelemetryBatch) -> Void) {
        let result: (bytes: [UInt8], count: Int)?
        do {
            result = try batch.payload.withUnsafeBytes { raw throws(OTLPDecodeError) in
                batch.signal == .traces ? try sampleSpans(raw) : try sampleLogs(raw)
            }
        } catch {
            // Receivers validated the request, so this is not expected; pass it on unchanged
            // rather than lose data.
            malformed += 1
            logger.warn("could not sample a \(batch.signal) batch (\(error)); passing it on unsampled")
            return emit(batch)
        }
        guard let (bytes, count) = result else { return emit(batch) }
        guard count > 0 else { return batch.complete() }
        emit(TelemetryBatch(signal: batch.signal, payload: bytes, itemCount: count, tokens: batch.tokens,
                            origins: batch.origins.kept(ifResourceCount: OTLPScanner.resourceCount(bytes))))
    }

    /// Counts `n` decisions (`otelcol_processor_probabilistic_sampler_count_{traces,logs}_sampled`).
    func count(_ signal: Signal, policy: String, sampled: Bool, _ n: Int) {
        let key = "\(signal.rawValue)|\(policy)|\(sampled)"
        if let counter = counters[key] { return counter.add(n) }
        let item = signal == .traces ? "traces" : "logs"
        let counter = metrics.counter(
            "otelcol_processor_probabilistic_sampler_count_\(item)_sampled_total",
            help: "Count of \(item) that were sampled or not",
            labels: [("processor", name), ("policy", policy), ("sampled", sampled ? "true" : "false")])
        counters[key] = counter
        counter.add(n)
    }

    /// Writes the kept items when anything changed; nil means "the request as it was".
    static func rewrite(_ layout: OTLPRequestLayout, _ raw: UnsafeRawBufferPointer, kept: [Int],
                        replacements: [Int: [UInt8]]) -> (bytes: [UInt8], count: Int)? {
        if kept.count == layout.items.count && replacements.isEmpty { return nil }
        if kept.isEmpty { return ([], 0) }
        return (layout.write(kept, from: raw) { replacements[$0] }, kept.count)
    }
}

/// A batch's decisions counted by policy and outcome, added to the counters once per batch.
struct DecisionTally {
    private var entries: [(policy: String, sampled: Bool, n: Int)] = []

    mutating func add(_ policy: String, _ sampled: Bool) {
        for i in entries.indices where entries[i].sampled == sampled && entries[i].policy == policy {
            entries[i].n += 1
            return
        }
        entries.append((policy, sampled, 1))
    }

    func flush(into sampler: ProbabilisticSampler, _ signal: Signal) {
        for e in entries { sampler.count(signal, policy: e.policy, sampled: e.sampled, e.n) }
    }
}
