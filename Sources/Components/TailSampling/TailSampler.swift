import CollectorCore
import OTLPCodec
import Store

/// The `tail_sampling` processor: holds each trace's spans for `decision_wait` after its first
/// span arrived, then keeps or drops the whole trace by its policies (see `PolicyTree`).
///
/// Design:
/// - Spans are grouped by trace on the wire (`OTLPRequestLayout.write` per trace); policies are
///   evaluated as spans arrive, so a held trace costs its `TraceSummary` plus where its spans
///   are: in memory (ranges of the batch's block: a batch's per-trace requests are written
///   into one buffer, held once and freed with its last trace), or with `storage` in the
///   write-ahead `HoldLog` (locations). The held traces are in a `TraceTable`.
/// - Traces are decided in arrival order when their wait is over (`nextDeadline` is the oldest
///   trace's), the sampled ones emitted as one batch per timer run.
/// - Bounded: when `num_traces` traces (or, in memory, `max_held_bytes` bytes) are held, the
///   oldest trace is decided at once with what it has, counted in
///   `collectord_processor_tail_sampling_early_decisions_total{reason}`; nothing is dropped
///   undecided.
/// - Late spans (their trace already decided) follow the decision (`DecisionCache`).
/// - Acknowledgement: in memory, a request is acknowledged once held (a crash loses what is
///   held). With `storage`, once its spans are synced to the hold log; a sampled trace's frames
///   stay in the log until the exporters acknowledged the emitted batch, so a crash at any point
///   loses no acknowledged span (after a restart the log is replayed and every trace decided).
/// - Reload: unchanged, the instance is kept with what it holds; changed, it hands its traces
///   to the successor (`handOver`), which evaluates them with its own policies (and takes over
///   the same log when the storage directory is the same).
///
/// Confined: called through `SerializedProcessor`.
public final class TailSampler: HoldingProcessor {
    struct Held {
        var arrival: UInt64
        var summary = TraceSummary()
        var spans = HeldSpans.memory(MemoryPieces())

        /// Memory hold: the trace's spans (pieces of shared batch blocks).
        var memory: MemoryPieces {
            get { if case .memory(let m) = spans { m } else { MemoryPieces() } }
            set { spans = .memory(newValue) }
        }

        /// Storage hold: where they are in the log.
        var locations: LocationList {
            get { if case .log(let l) = spans { l } else { LocationList() } }
            set { spans = .log(newValue) }
        }

        var isEmpty: Bool { memory.isEmpty && locations.isEmpty }
        var size: Int { memory.byteCount + locations.all.reduce(0) { $0 + Int($1.length) } }
    }

    /// Where a held trace's spans are: one or the other (an enum, so that a held trace pays
    /// for the larger of the two only).
    enum HeldSpans {
        case memory(MemoryPieces)
        case log(LocationList)
    }

    let settings: TailSamplingSettings
    let policies: PolicyTree
    let metrics: TailSamplingMetrics
    private let logger: Logger
    private let clock: any MonotonicClock
    private let logs: HoldLogRegistry?
    private(set) var log: HoldLog?
    private var held = TraceTable<Held>()
    /// With storage: where a batch's frames are laid out before they are written (kept up to
    /// `scratchRetained` bytes).
    private var frameScratch: [UInt8] = []
    static let scratchRetained = 16 << 20
    /// Seeds the per-batch grouping tables (random at start, stepped per batch).
    private var batchSeed = UInt64.random(in: .min ... .max)
    /// Trace ids in arrival order; entries of traces decided early are skipped when reached.
    private var order: [OTLPTraceID] = []
    private var orderHead = 0
    private var heldBytes = 0
    /// The latest time seen (a flush has no clock of its own).
    private var lastNow: UInt64 = 0
    let decisions: DecisionCache

    public init(settings: TailSamplingSettings, name: ComponentID, metrics: MetricsRegistry, logger: Logger,
                logs: HoldLogRegistry? = nil, clock: any MonotonicClock = SystemClock()) throws {
        self.settings = settings
        self.policies = try PolicyTree(settings)
        self.metrics = TailSamplingMetrics(name: name, registry: metrics, policies: self.policies.policies.map(\.name))
        self.logger = logger
        self.logs = logs
        self.clock = clock
        self.decisions = DecisionCache(sampled: settings.sampledCacheSize, notSampled: settings.nonSampledCacheSize,
                                       fallback: settings.numTraces)
    }

    public var heldTraceCount: Int { held.count }
    public var heldByteCount: Int { heldBytes }
    /// Span bytes held in memory (0 with storage, whatever is held).
    public var memoryHeldBytes: Int { held.values.reduce(0) { $0 + $1.memory.byteCount } }

    /// Opens the hold log (with `storage`) and takes back what a previous run left in it.
    public func start() throws {
        guard let directory = settings.storage else { return }
        guard let logs else { throw ComponentError.permanent("tail_sampling storage needs a hold log registry") }
        do {
            log = try logs.acquire(directory)
        } catch {
            throw ComponentError.permanent("tail_sampling storage \(directory): \(error)")
        }
        let recovered = log!.takeRecovered()
        guard !recovered.isEmpty else { return }
        let now = clock.now()
        lastNow = max(lastNow, now)
        for r in recovered {
            r.payload.withUnsafeBytes { raw in
                observeAll(raw) { id, summary in
                    if !held.contains(id) {
                        held[id] = Held(arrival: now)
                        order.append(id)
                    }
                    held[id]!.summary.merge(summary)
                    if !held[id]!.locations.all.contains(r.location) {
                        var locations = held[id]!.locations
                        locations.append(r.location)
                        held[id]!.locations = locations
                    }
                }
            }
            heldBytes += Int(r.location.length)
        }
        metrics.recovered(held.count)
        metrics.setHeld(traces: held.count, bytes: heldBytes)
        logger.info("replayed \(held.count) held traces (\(recovered.count) records) from \(directory)")
    }

    public func shutdown() {
        guard let directory = settings.storage, log != nil else { return }
        log = nil
        logs?.release(directory)
    }

    public var nextDeadline: UInt64? {
        skipDecided()
        guard orderHead < order.count, let first = held.position(of: order[orderHead]) else { return nil }
        return held.values[first].arrival + settings.decisionWait
    }

    // MARK: Spans in

    public func process(_ batch: TelemetryBatch, now: UInt64, emit: (TelemetryBatch) -> Void) {
        lastNow = max(lastNow, now)
        let passOn: (bytes: [UInt8]?, count: Int)
        do {
            passOn = try batch.payload.withUnsafeBytes { raw in try hold(raw, now: now, emit: emit) }
        } catch let error as StoreError {
            logger.error("tail_sampling could not hold spans in \(settings.storage ?? ""): \(error)")
            metrics.holdFailed()
            return batch.complete(.retryable("tail_sampling hold: \(error)"))
        } catch {
            // The receivers validated the request; pass it on rather than lose it.
            logger.warn("could not read a batch for tail sampling (\(error)); passing it on undecided")
            return emit(batch)
        }
        metrics.setHeld(traces: held.count, bytes: heldBytes)
        if passOn.count > 0 {
            emit(TelemetryBatch(signal: .traces, payload: passOn.bytes ?? batch.payload, itemCount: passOn.count, tokens: batch.tokens))
        } else {
            batch.complete()   // held (in memory, or synced to the log), or dropped by a cached decision
        }
        if log == nil, heldBytes > settings.maxHeldBytes {
            // The oldest traces, in one batch, until the bound holds again.
            var ids: [OTLPTraceID] = []
            var freed = 0
            skipDecided()
            var i = orderHead
            while heldBytes - freed > settings.maxHeldBytes, i < order.count {
                if let p = held.position(of: order[i]) {
                    ids.append(order[i])
                    freed += held.values[p].size
                }
                i += 1
            }
            decideNow(ids, now: now, reason: "memory", emit: emit)
        }
    }

    /// One trace's spans in a batch: how many, and the trace's summary with them.
    private struct Group {
        var id: OTLPTraceID
        var summary: TraceSummary
        var wasHeld: Bool
        var count = 0
    }

    /// Holds the spans of `raw` by trace; returns the spans to pass on at once (late spans of
    /// sampled traces; nil bytes: the whole request). With storage, nothing changes before the
    /// log has the spans (a failed write leaves the state as it was and throws).
    private func hold(_ raw: UnsafeRawBufferPointer, now: UInt64, emit: (TelemetryBatch) -> Void) throws -> (bytes: [UInt8]?, count: Int) {
        let layout = try OTLPRequestLayout(.traces, raw)
        let resourceBits = layout.resources.map {
            policies.resourceBits(raw, OTLPAttributes.list(raw, $0.resourceMessage, field: 1))
        }
        // Group the spans by trace (in order of first appearance) and observe each one against
        // its trace's summary so far, as upstream evaluates spans in arrival order. A trace's
        // spans are usually next to each other: the previous span's group is tried first.
        batchSeed = batchSeed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        var groupOf = TraceTable<Int>(minimumCapacity: 256, seed: batchSeed)
        var groups: [Group] = []
        var spanGroup = [Int32](repeating: -1, count: layout.items.count)
        var passOn: [Int] = []
        var span = OTLPSpanFields()
        var last: (id: OTLPTraceID, group: Int)?
        for (index, item) in layout.items.enumerated() {
            try span.read(raw, item.payload)
            let id = OTLPTraceID(raw, span.traceID) ?? OTLPTraceID(high: 0, low: 0)
            let g: Int
            if let last, last.id == id {
                g = last.group
            } else if let known = groupOf[id] {
                g = known
            } else {
                if let decision = decisions.lookup(id) {
                    metrics.earlyRelease(spans: 1, sampled: decision.sampled)
                    metrics.lateSpan(ageSeconds: decision.at <= now ? Double(now - decision.at) / 1e9 : 0)
                    if decision.sampled { passOn.append(index) }
                    last = nil
                    continue
                }
                let existing = held.position(of: id)
                g = groups.count
                groups.append(Group(id: id, summary: existing.map { held.values[$0].summary } ?? TraceSummary(), wasHeld: existing != nil))
                groupOf.insert(id, g)
            }
            last = (id, g)
            spanGroup[index] = Int32(g)
            groups[g].count += 1
            policies.observe(span, raw, resourceBits: resourceBits[layout.scopes[item.scope].resource], into: &groups[g].summary)
        }
        // Each trace's own request, all in one buffer (its spans in wire order).
        var bounds: [Range<Int>] = []
        bounds.reserveCapacity(groups.count)
        var total = 0
        for group in groups {
            bounds.append(total..<(total + group.count))
            total += group.count
        }
        var fill = bounds.map(\.lowerBound)
        var members = [Int](repeating: 0, count: total)
        for (index, g) in spanGroup.enumerated() where g >= 0 {
            members[fill[Int(g)]] = index
            fill[Int(g)] += 1
        }
        // With storage, the requests are laid out with room for their frame headers and
        // written as they are; in memory, the batch's buffer is held once, shared by its traces.
        let locations: [HoldLog.Location]?
        let block: HeldBlock?
        let pieces: [Range<Int>]
        if let log {
            // The same scratch buffer batch after batch (request-sized buffers are costly to
            // allocate: they come from mmap).
            pieces = layout.writeGroups(members, bounds: bounds, from: raw, gap: BlockFrame.headerSize, into: &frameScratch)
            locations = try log.append(framing: &frameScratch, pieces: zip(pieces, groups).map { ($0, $1.count) })
            if frameScratch.capacity > Self.scratchRetained { frameScratch = [] }
            block = nil
        } else {
            let (buffer, written) = layout.writeGroups(members, bounds: bounds, from: raw)
            pieces = written
            locations = nil
            block = HeldBlock(buffer)
        }
        // Make room first (deciding the oldest early), then hold.
        // Traces of this batch are not chosen: their summaries already include these spans.
        let continued = Set(groups.lazy.filter(\.wasHeld).map(\.id))
        makeRoom(for: groups.count - continued.count, sparing: continued, now: now, emit: emit)
        for (k, group) in groups.enumerated() {
            let p: Int
            if let existing = held.position(of: group.id) {
                p = existing
            } else {
                p = held.insert(group.id, Held(arrival: now))
                order.append(group.id)
                metrics.newTrace()
            }
            held[position: p].summary = group.summary
            if let locations {
                var list = held[position: p].locations
                list.append(locations[k])
                held[position: p].locations = list
                heldBytes += Int(locations[k].length)
            } else if let block {
                var memory = held[position: p].memory
                memory.append(block, pieces[k])
                held[position: p].memory = memory
                heldBytes += pieces[k].count
            }
        }
        if passOn.isEmpty { return (nil, 0) }
        if passOn.count == layout.items.count { return (nil, passOn.count) }
        return (layout.write(passOn, from: raw), passOn.count)
    }

    /// Observes every span of a held request (a replay or a handover): `body` gets each
    /// trace's summary of the spans found.
    private func observeAll(_ raw: UnsafeRawBufferPointer, _ body: (OTLPTraceID, TraceSummary) -> Void) {
        guard let layout = try? OTLPRequestLayout(.traces, raw) else { return }
        let resourceBits = layout.resources.map { policies.resourceBits(raw, OTLPAttributes.list(raw, $0.resourceMessage, field: 1)) }
        var summaries: [OTLPTraceID: TraceSummary] = [:]
        var ids: [OTLPTraceID] = []
        for item in layout.items {
            guard let span = try? OTLPSpanFields(raw, item.payload) else { continue }
            let id = OTLPTraceID(raw, span.traceID) ?? OTLPTraceID(high: 0, low: 0)
            if summaries[id] == nil { ids.append(id) }
            policies.observe(span, raw, resourceBits: resourceBits[layout.scopes[item.scope].resource], into: &summaries[id, default: TraceSummary()])
        }
        for id in ids { body(id, summaries[id]!) }
    }

    /// Decides the oldest traces (but those in `sparing`) early, in one batch, so that `count`
    /// more fit in `num_traces`.
    private func makeRoom(for count: Int, sparing: Set<OTLPTraceID>, now: UInt64, emit: (TelemetryBatch) -> Void) {
        let excess = held.count + count - settings.numTraces
        guard excess > 0 else { return }
        skipDecided()
        var ids: [OTLPTraceID] = []
        var i = orderHead
        while ids.count < excess, i < order.count {
            if held.contains(order[i]), !sparing.contains(order[i]) { ids.append(order[i]) }
            i += 1
        }
        decideNow(ids, now: now, reason: "num_traces", emit: emit)
    }

    private func skipDecided() {
        while orderHead < order.count, !held.contains(order[orderHead]) { orderHead += 1 }
        if orderHead > 4096 && orderHead * 2 > order.count {
            order.removeFirst(orderHead)
            orderHead = 0
        }
    }

    // MARK: Deciding

    public func timerFired(now: UInt64, emit: (TelemetryBatch) -> Void) {
        lastNow = max(lastNow, now)
        var due: [OTLPTraceID] = []
        var i = orderHead
        while i < order.count {
            if let p = held.position(of: order[i]) {
                if held.values[p].arrival + settings.decisionWait > now { break }
                due.append(order[i])
            }
            i += 1
        }
        decideNow(due, now: now, reason: nil, emit: emit)
    }

    /// Decides `ids` and emits the sampled ones as one batch. `reason` names an early decision.
    /// With storage, the sampled traces' frames are resolved when the batch is acknowledged.
    func decideNow(_ ids: [OTLPTraceID], now: UInt64, reason: String?, emit: (TelemetryBatch) -> Void) {
        guard !ids.isEmpty else { return }
        var chunk = Chunk()
        // Not-sampled traces' frames, resolved in one log write.
        var dropped: (ids: [OTLPTraceID], locations: [HoldLog.Location]) = ([], [])
        defer { if let log, !dropped.ids.isEmpty { log.resolve(dropped.ids, dropped.locations) } }
        for id in ids {
            guard let trace = held.removeValue(forKey: id) else { continue }
            heldBytes -= trace.size
            let (final, each) = policies.decide(trace.summary, traceID: id, now: now)
            metrics.decided(final, policies: each, early: reason)
            let sampled = final == .sampled
            decisions.record(id, sampled: sampled, at: now)
            guard sampled else {
                if log != nil, !trace.locations.isEmpty {
                    dropped.ids.append(id)
                    dropped.locations += trace.locations.all
                }
                continue
            }
            if log != nil, !trace.locations.isEmpty {
                // Read back when the chunk goes out, all its frames together.
                chunk.stored.append((id, trace.locations.all, trace.summary.spanCount))
                chunk.storedBytes += trace.size
            } else {
                trace.memory.append(to: &chunk.payload)
                chunk.count += trace.summary.spanCount
            }
            // Batches of bounded size, however many traces are due at once.
            if chunk.payload.count + chunk.storedBytes >= Self.chunkBytes { emitChunk(&chunk, emit) }
        }
        skipDecided()
        metrics.setHeld(traces: held.count, bytes: heldBytes)
        emitChunk(&chunk, emit)
    }

    /// Sampled traces on their way out in one batch.
    private struct Chunk {
        var payload: [UInt8] = []
        var count = 0
        /// Sampled traces still in the hold log: read into `payload` by `emitChunk`.
        var stored: [(id: OTLPTraceID, locations: [HoldLog.Location], spans: Int)] = []
        var storedBytes = 0
    }

    /// Decided traces leave in batches of about this size: below the allocator's mmap threshold
    /// (256 KiB), so their buffers come from the heap instead of being mapped and faulted in.
    static let chunkBytes = 192 << 10

    /// Emits the chunk; with storage, its traces' frames are resolved when it is acknowledged
    /// (a crash before that replays them, and they are decided and sent again).
    private func emitChunk(_ chunk: inout Chunk, _ emit: (TelemetryBatch) -> Void) {
        defer { chunk = Chunk() }
        var ids: [OTLPTraceID] = []
        var locations: [HoldLog.Location] = []
        if let log, !chunk.stored.isEmpty {
            let all = chunk.stored.flatMap(\.locations)
            chunk.payload.reserveCapacity(chunk.payload.count + chunk.storedBytes)
            do {
                try log.read(all, appendingTo: &chunk.payload)
                ids = chunk.stored.map(\.id)
                locations = all
                chunk.count += chunk.stored.reduce(0) { $0 + $1.spans }
            } catch {
                // Trace by trace, to lose only the ones that cannot be read.
                for trace in chunk.stored {
                    do {
                        try log.read(trace.locations, appendingTo: &chunk.payload)
                        ids.append(trace.id)
                        locations += trace.locations
                        chunk.count += trace.spans
                    } catch {
                        logger.error("a sampled trace \(trace.id) could not be read back from the hold: \(error)")
                        metrics.holdFailed()
                        log.resolve([trace.id], trace.locations)
                    }
                }
            }
        }
        guard chunk.count > 0 else { return }
        var tokens: [AckToken] = []
        if let log, !ids.isEmpty {
            let logger = self.logger
            let (ids, locations) = (ids, locations)
            tokens = [AckToken { error in
                if let error { logger.warn("sampled traces were not exported: \(error.message)") }
                log.resolve(ids, locations)
            }]
        }
        emit(TelemetryBatch(signal: .traces, payload: chunk.payload, itemCount: chunk.count, tokens: tokens))
    }

    /// Shutdown (or a reload that removes it): every held trace is decided now with what it has.
    public func flush(emit: (TelemetryBatch) -> Void) {
        skipDecided()
        let ids = Array(order[orderHead...]).filter { held.contains($0) }
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
        next.adopt(traces, from: log)
        return true
    }

    /// Takes traces from a predecessor (older than this instance's own, so they go first in
    /// the decision order); their spans are observed again by these policies. Spans in another
    /// hold (memory, or another directory) are moved into this one.
    private func adopt(_ traces: [(OTLPTraceID, Held)], from previous: HoldLog?) {
        var adoptedOrder: [OTLPTraceID] = []
        for (id, trace) in traces {
            var bytes: [UInt8] = []
            trace.memory.append(to: &bytes)
            var locations = trace.locations.all
            if let previous, !locations.isEmpty, previous !== log {
                bytes = (try? previous.read(locations)) ?? []
                previous.resolve([id], locations)
                locations = []
            }
            if let log, !bytes.isEmpty {
                do {
                    locations += try log.append([(bytes, trace.summary.spanCount)])
                    bytes = []
                } catch {
                    logger.error("a handed-over trace could not be written to the hold: \(error); kept in memory")
                }
            }
            var mine = held.removeValue(forKey: id) ?? Held(arrival: trace.arrival)
            if mine.isEmpty { adoptedOrder.append(id) }
            mine.arrival = min(mine.arrival, trace.arrival)
            let observe: (UnsafeRawBufferPointer) -> Void = { raw in
                self.observeAll(raw) { traceID, summary in if traceID == id { mine.summary.merge(summary) } }
            }
            if !bytes.isEmpty {
                bytes.withUnsafeBytes(observe)
            } else if let log, let stored = try? log.read(locations) {
                stored.withUnsafeBytes(observe)
            }
            if !bytes.isEmpty {
                var memory = mine.memory
                memory.append(HeldBlock(bytes), 0..<bytes.count)
                mine.memory = memory
            }
            if !locations.isEmpty {
                var list = mine.locations
                for l in locations { list.append(l) }
                mine.locations = list
            }
            heldBytes += bytes.count + locations.reduce(0) { $0 + Int($1.length) }
            held[id] = mine
        }
        let adoptedSet = Set(adoptedOrder)
        order = adoptedOrder + order[orderHead...].filter { held.contains($0) && !adoptedSet.contains($0) }
        orderHead = 0
        metrics.handedOver(traces.count)
        metrics.setHeld(traces: held.count, bytes: heldBytes)
    }
}

extension TraceSummary {
    /// Adds the spans `other` summarizes (latency windows recombined; their bits as they are).
    mutating func merge(_ other: TraceSummary) {
        bits |= other.bits
        spanCount += other.spanCount
        if other.minStart != 0, minStart == 0 || other.minStart < minStart { minStart = other.minStart }
        if other.maxEnd != 0, other.maxEnd > maxEnd { maxEnd = other.maxEnd }
    }
}

/// Where a held trace's spans are in the hold log: usually one frame (a trace's spans tend to
/// arrive in one request), kept inline so that a held trace costs no extra allocation.
struct LocationList {
    private var first: HoldLog.Location?
    private var rest: [HoldLog.Location] = []

    var isEmpty: Bool { first == nil }

    mutating func append(_ location: HoldLog.Location) {
        if first == nil { first = location } else { rest.append(location) }
    }

    var all: [HoldLog.Location] { first.map { [$0] + rest } ?? [] }
}

/// One batch's per-trace requests, written together and held once in memory: each trace
/// holds a range of it, and the block is freed with the last of them (a batch's traces arrive
/// together, so they are decided together too). Immutable after creation.
final class HeldBlock: Sendable {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

/// A trace's spans held in memory: ranges of batch blocks, the first kept inline.
struct MemoryPieces {
    private var block: HeldBlock?
    private var range: Range<Int32> = 0..<0
    private var rest: [(block: HeldBlock, range: Range<Int32>)] = []

    var isEmpty: Bool { block == nil }

    var byteCount: Int { Int(range.count) + rest.reduce(0) { $0 + Int($1.range.count) } }

    mutating func append(_ block: HeldBlock, _ range: Range<Int>) {
        let r = Int32(range.lowerBound)..<Int32(range.upperBound)
        if self.block == nil {
            self.block = block
            self.range = r
        } else {
            rest.append((block, r))
        }
    }

    /// Appends the spans (whole requests, one after the other) to `out`.
    func append(to out: inout [UInt8]) {
        guard let block else { return }
        out.append(contentsOf: block.bytes[Int(range.lowerBound)..<Int(range.upperBound)])
        for piece in rest { out.append(contentsOf: piece.block.bytes[Int(piece.range.lowerBound)..<Int(piece.range.upperBound)]) }
    }
}
