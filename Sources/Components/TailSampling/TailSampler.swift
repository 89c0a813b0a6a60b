import CollectorCore
import OTLPCodec

/// The `tail_sampling` processor: holds each trace's spans for `decision_wait` after its first
/// span arrived, then keeps or drops the whole trace by its policies (see `PolicyTree`).
///
/// Design:
/// - Spans are grouped by trace on the wire (`OTLPRequestLayout.write` per trace), and each
///   trace's pieces are concatenated into one held request; policies are evaluated as spans
///   arrive, so deciding needs no decoding.
/// - Traces are decided in arrival order when their wait is over (`nextDeadline` is the oldest
///   trace's), in one emitted batch per timer run.
/// - Bounded: when `num_traces` traces or `max_held_bytes` bytes are held, the oldest trace is
///   decided at once with what it has, counted in
///   `collectord_processor_tail_sampling_early_decisions_total{reason}`; nothing is dropped
///   undecided.
/// - Late spans (their trace already decided) follow the decision: the decision caches
///   (`decision_cache`), or without them the last `num_traces` decisions.
/// - Acknowledgement: spans are in memory only, so a request is acknowledged once held (a
///   crash loses what is held). Spans passed on at once (late spans of a sampled trace) keep
///   their request's token.
/// - Reload: unchanged, the instance is kept with what it holds; changed, it hands its traces
///   to the successor (`handOver`), which evaluates them with its own policies.
///
/// Confined: called through `SerializedProcessor`.
public final class TailSampler: HoldingProcessor {
    struct Held {
        var arrival: UInt64
        var summary = TraceSummary()
        var bytes: [UInt8] = []
    }

    let settings: TailSamplingSettings
    let policies: PolicyTree
    let metrics: TailSamplingMetrics
    private let logger: Logger
    private var held: [OTLPTraceID: Held] = [:]
    /// Trace ids in arrival order; entries of traces decided early are skipped when reached.
    private var order: [OTLPTraceID] = []
    private var orderHead = 0
    private var heldBytes = 0
    /// The latest time seen (a flush has no clock of its own).
    private var lastNow: UInt64 = 0
    let decisions: DecisionCache

    public init(settings: TailSamplingSettings, name: ComponentID, metrics: MetricsRegistry, logger: Logger) throws {
        self.settings = settings
        self.policies = try PolicyTree(settings)
        self.metrics = TailSamplingMetrics(name: name, registry: metrics)
        self.logger = logger
        self.decisions = DecisionCache(sampled: settings.sampledCacheSize, notSampled: settings.nonSampledCacheSize,
                                       fallback: settings.numTraces)
    }

    public var heldTraceCount: Int { held.count }
    public var heldByteCount: Int { heldBytes }

    public var nextDeadline: UInt64? {
        skipDecided()
        guard orderHead < order.count, let first = held[order[orderHead]] else { return nil }
        return first.arrival + settings.decisionWait
    }

    // MARK: Spans in

    public func process(_ batch: TelemetryBatch, now: UInt64, emit: (TelemetryBatch) -> Void) {
        lastNow = max(lastNow, now)
        let passOn: (bytes: [UInt8]?, count: Int)
        do {
            passOn = try batch.payload.withUnsafeBytes { raw in try hold(raw, now: now, emit: emit) }
        } catch {
            // The receivers validated the request; pass it on rather than lose it.
            logger.warn("could not read a batch for tail sampling (\(error)); passing it on undecided")
            return emit(batch)
        }
        metrics.setHeld(traces: held.count, bytes: heldBytes)
        if passOn.count > 0 {
            emit(TelemetryBatch(signal: .traces, payload: passOn.bytes ?? batch.payload, itemCount: passOn.count, tokens: batch.tokens))
        } else {
            batch.complete()   // held (in memory) or dropped by a cached decision
        }
        while heldBytes > settings.maxHeldBytes, let oldest = oldestHeld() {
            decideNow([oldest], now: now, reason: "memory", emit: emit)
        }
    }

    /// Holds the spans of `raw` by trace; returns the spans to pass on at once (late spans of
    /// sampled traces; nil bytes: the whole request).
    private func hold(_ raw: UnsafeRawBufferPointer, now: UInt64, emit: (TelemetryBatch) -> Void) throws -> (bytes: [UInt8]?, count: Int) {
        let layout = try OTLPRequestLayout(.traces, raw)
        let resourceBits = layout.resources.map {
            policies.resourceBits(raw, OTLPAttributes.list(raw, $0.resourceMessage, field: 1))
        }
        // Group the spans by trace, in order of first appearance.
        var groups: [OTLPTraceID: [Int]] = [:]
        var groupOrder: [OTLPTraceID] = []
        var fields: [OTLPSpanFields] = []
        fields.reserveCapacity(layout.items.count)
        for (index, item) in layout.items.enumerated() {
            let span = try OTLPSpanFields(raw, item.payload)
            fields.append(span)
            let id = OTLPTraceID(bytes: raw[span.traceID]) ?? OTLPTraceID(high: 0, low: 0)
            if groups[id] == nil { groupOrder.append(id) }
            groups[id, default: []].append(index)
        }
        var passOn: [Int] = []
        for id in groupOrder {
            let indexes = groups[id]!
            if let decision = decisions.lookup(id) {
                metrics.earlyRelease(spans: indexes.count, sampled: decision.sampled)
                metrics.lateSpan(ageSeconds: decision.at <= now ? Double(now - decision.at) / 1e9 : 0)
                if decision.sampled { passOn += indexes }
                continue
            }
            if held[id] == nil { admit(id, now: now, emit: emit) }
            var trace = held.removeValue(forKey: id)!
            for i in indexes {
                policies.observe(fields[i], raw, resourceBits: resourceBits[layout.scopes[layout.items[i].scope].resource],
                                 into: &trace.summary)
            }
            let piece = layout.write(indexes, from: raw)
            trace.bytes.append(contentsOf: piece)
            heldBytes += piece.count
            held[id] = trace
        }
        if passOn.isEmpty { return (nil, 0) }
        if passOn.count == layout.items.count { return (nil, passOn.count) }
        return (layout.write(passOn.sorted(), from: raw), passOn.count)
    }

    /// Makes room for one more trace (deciding the oldest early when `num_traces` are held)
    /// and registers `id`.
    private func admit(_ id: OTLPTraceID, now: UInt64, emit: (TelemetryBatch) -> Void) {
        while held.count >= settings.numTraces, let oldest = oldestHeld() {
            decideNow([oldest], now: now, reason: "num_traces", emit: emit)
        }
        held[id] = Held(arrival: now)
        order.append(id)
        metrics.newTrace()
    }

    private func skipDecided() {
        while orderHead < order.count, held[order[orderHead]] == nil { orderHead += 1 }
        if orderHead > 4096 && orderHead * 2 > order.count {
            order.removeFirst(orderHead)
            orderHead = 0
        }
    }

    private func oldestHeld() -> OTLPTraceID? {
        skipDecided()
        return orderHead < order.count ? order[orderHead] : nil
    }

    // MARK: Deciding

    public func timerFired(now: UInt64, emit: (TelemetryBatch) -> Void) {
        lastNow = max(lastNow, now)
        var due: [OTLPTraceID] = []
        var i = orderHead
        while i < order.count {
            if let t = held[order[i]] {
                if t.arrival + settings.decisionWait > now { break }
                due.append(order[i])
            }
            i += 1
        }
        decideNow(due, now: now, reason: nil, emit: emit)
    }

    /// Decides `ids` and emits the sampled ones as one batch. `reason` names an early decision.
    func decideNow(_ ids: [OTLPTraceID], now: UInt64, reason: String?, emit: (TelemetryBatch) -> Void) {
        guard !ids.isEmpty else { return }
        var payload: [UInt8] = []
        var count = 0
        for id in ids {
            guard let trace = held.removeValue(forKey: id) else { continue }
            heldBytes -= trace.bytes.count
            let (final, each) = policies.decide(trace.summary, traceID: id, now: now)
            metrics.decided(final, policies: each, early: reason)
            let sampled = final == .sampled
            decisions.record(id, sampled: sampled, at: now)
            if sampled {
                payload.append(contentsOf: trace.bytes)
                count += trace.summary.spanCount
            }
        }
        skipDecided()
        metrics.setHeld(traces: held.count, bytes: heldBytes)
        if count > 0 { emit(TelemetryBatch(signal: .traces, payload: payload, itemCount: count)) }
    }

    /// Shutdown (or a reload that removes it): every held trace is decided now with what it has.
    public func flush(emit: (TelemetryBatch) -> Void) {
        skipDecided()
        let ids = Array(order[orderHead...]).filter { held[$0] != nil }
        decideNow(ids, now: lastNow, reason: "shutdown", emit: emit)
    }

    // MARK: Reload

    /// Gives every held trace, in arrival order, to a `TailSampler` successor, which
    /// evaluates them with its own policies; their arrival times are kept.
    public func handOver(to successor: any Processor, now: UInt64) -> Bool {
        guard let next = successor as? TailSampler else { return false }
        skipDecided()
        var traces: [(OTLPTraceID, Held)] = []
        for id in order[orderHead...] {
            if let trace = held.removeValue(forKey: id) { traces.append((id, trace)) }
        }
        heldBytes = 0
        order = []
        orderHead = 0
        metrics.setHeld(traces: 0, bytes: 0)
        next.adopt(traces)
        return true
    }

    /// Takes traces from a predecessor (older than this instance's own, so they go first in
    /// the decision order); their spans are observed again by these policies.
    private func adopt(_ traces: [(OTLPTraceID, Held)]) {
        var adoptedOrder: [OTLPTraceID] = []
        for (id, trace) in traces {
            var mine = held.removeValue(forKey: id) ?? Held(arrival: trace.arrival)
            if mine.bytes.isEmpty { adoptedOrder.append(id) }
            mine.arrival = min(mine.arrival, trace.arrival)
            trace.bytes.withUnsafeBytes { raw in
                guard let layout = try? OTLPRequestLayout(.traces, raw) else { return }
                let resourceBits = layout.resources.map {
                    policies.resourceBits(raw, OTLPAttributes.list(raw, $0.resourceMessage, field: 1))
                }
                for item in layout.items {
                    guard let span = try? OTLPSpanFields(raw, item.payload) else { continue }
                    policies.observe(span, raw, resourceBits: resourceBits[layout.scopes[item.scope].resource], into: &mine.summary)
                }
            }
            mine.bytes.append(contentsOf: trace.bytes)
            heldBytes += trace.bytes.count
            held[id] = mine
        }
        order = adoptedOrder + order[orderHead...].filter { held[$0] != nil && !adoptedOrder.contains($0) }
        orderHead = 0
        metrics.handedOver(traces.count)
        metrics.setHeld(traces: held.count, bytes: heldBytes)
    }
}
