import Buffers
import CollectorCore
import Dispatch
import OTLPCodec
import Sampling
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The `spanmetrics` connector: RED metrics from the spans of the traces pipelines that export
/// to it, into the metrics pipelines that receive from it.
///
/// Design: `export` reads each span on the wire (`OTLPRequestLayout.visit`, `OTLPSpanFields`,
/// its dimensions found by an `OTLPAttributeMatcher` as the walk passes them), builds its
/// series key and adds it to the `SeriesTable` under a mutex, then returns: the traces'
/// acknowledgement does not wait for metrics, which are derived data. Every
/// `metrics_flush_interval` (a `PeriodicFlush`; `flush(now:)` is the test hook) the table is
/// written as one `ExportMetricsServiceRequest` and handed to `next` without tokens; `shutdown`
/// flushes once more. A refused flush is logged and counted, and loses nothing with cumulative
/// temporality (the next flush carries the totals); with delta temporality the counts stay
/// and go out with the next flush.
///
/// Sampling: a span whose tracestate carries an OTEP 235 threshold (`ot=th:...`, written by a
/// probabilistic sampler before this connector) counts as its adjusted count, 1/probability,
/// rounded to an integer stochastically, so rates stay right after sampling. Placed before a
/// sampler, the connector sees and counts every span.
///
/// `@unchecked Sendable`: `flusher` is set once, at the end of `init`; the aggregation state is
/// in a mutex; everything else is immutable (the key buffers, made in `init`, belong to its
/// `SeriesKeyLayout`).
final class SpanMetricsConnector: Exporter, @unchecked Sendable {
    /// The table, boxed so the series gauge's callback can hold it.
    private final class State: Sendable {
        let table: Mutex<SeriesTable>
        init(_ table: SeriesTable) { self.table = Mutex(table) }
    }

    private let settings: SpanMetricsSettings
    private let name: String
    private let next: any Consumer
    private let logger: Logger
    private let wallClock: @Sendable () -> UInt64
    private let state: State
    private var flusher: PeriodicFlush!
    private let refusedFlushes: Counter
    private let skippedSpans: Counter
    private let metrics: MetricsRegistry
    private let gaugeID: UInt64
    /// How a span's series key is written and read back.
    private let keyLayout: SeriesKeyLayout
    private let resourceKeys: [[UInt8]]
    /// Finds the configured dimensions among a span's or a resource's attributes.
    private let dimensionMatcher: OTLPAttributeMatcher

    /// Names of span kinds and status codes, in static memory (the hot path neither allocates
    /// nor retains for them). `nonisolated(unsafe)`: written once at initialization, never
    /// changed or freed after, so reading from any thread is safe.
    nonisolated(unsafe) static let kindNames = ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
                            "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"].map(SpanMetricsConnector.permanent)
    nonisolated(unsafe) static let statusNames = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"].map(SpanMetricsConnector.permanent)
    nonisolated(unsafe) static let unknownName = SpanMetricsConnector.permanent("UNKNOWN")

    /// Bytes of `text` in memory of their own, freed by hand if ever (the static names never
    /// are; a connector's keys and defaults with its `SeriesKeyLayout`).
    static func permanent(_ text: String) -> UnsafeRawBufferPointer { permanent(Array(text.utf8)) }

    static func permanent(_ bytes: [UInt8]) -> UnsafeRawBufferPointer {
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        memory.copyBytes(from: bytes)
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(memory)[0..<bytes.count])
    }

    init(settings: SpanMetricsSettings, name: String, next: any Consumer, metrics: MetricsRegistry, logger: Logger,
         wallClock: @escaping @Sendable () -> UInt64 = WallClock.unixNanos) {
        self.settings = settings
        self.name = name
        self.next = next
        self.logger = logger
        self.wallClock = wallClock
        self.metrics = metrics
        let state = State(SeriesTable(settings: settings))
        self.state = state
        let labels = [("connector", name)]
        refusedFlushes = metrics.counter("collectord_spanmetrics_refused_flushes_total",
                                         help: "Flushes of span metrics the metrics pipelines refused (sent again with the next flush).",
                                         labels: labels)
        skippedSpans = metrics.counter("collectord_spanmetrics_spans_without_service_total",
                                       help: "Spans not counted because their resource has no service.name.", labels: labels)
        let standard = SpanMetricsSettings.standardDimensions.filter { !settings.excludeDimensions.contains($0) }
        keyLayout = SeriesKeyLayout(
            standard: standard.map { ["service.name": .service, "span.name": .name, "span.kind": .kind][$0] ?? .status },
            standardKeys: standard.map(Self.permanent), dimensionKeys: settings.dimensions.map { Self.permanent($0.name) },
            defaults: settings.dimensions.map { d in d.defaultValue.map { Self.permanent(OTLPMetricsWriter.stringValue($0)) } }, kinds: Self.kindNames,
            statuses: Self.statusNames, unknown: Self.unknownName)
        resourceKeys = settings.resourceKeyAttributes.map { Array($0.utf8) }
        dimensionMatcher = OTLPAttributeMatcher(settings.dimensions.map(\.name))
        gaugeID = metrics.callback("collectord_spanmetrics_series", help: "Series the spanmetrics connector holds.",
                                   labels: labels) { Double(state.table.withLock { $0.seriesCount }) }
        flusher = PeriodicFlush(label: "collectord.spanmetrics.\(name)", interval: settings.flushInterval) { [weak self] in self?.flush() }
    }


    func start() throws {
        flusher.start()
    }

    /// Stops the timer and flushes what is held (the downstream pipelines still run: the
    /// service stops producers first).
    func shutdown() {
        flusher.stop()
    }

    var exportsConcurrently: Bool { true }

    /// Aggregates in memory and never fails: a pipeline that only batches calls `export` as
    /// each request enters, on the receiver's thread (see `Pipeline`).
    var exportsInline: Bool { true }

    /// Reads a batch merged by reference part by part (each part is whole requests).
    var readsParts: Bool { true }

    func export(_ batch: TelemetryBatch) throws(ComponentError) {
        let now = wallClock()
        batch.forEachPart { bytes, items in record(bytes, items: items, now: now) }
    }

    private func record(_ bytes: [UInt8], items: Int, now: UInt64) {
        do {
            try bytes.withBytes { (raw) throws(OTLPDecodeError) in
                let layout = keyLayout
                let dimensions = layout.dimensionKeys.count, matcher = dimensionMatcher
                let divider = settings.unit.divider, withExemplars = settings.exemplars
                // Per resource, once: its message, service.name value, key, and the values its
                // attributes give the dimensions (a span's own attributes win over them).
                var resources: [(message: Range<Int>?, key: WireKey?)] = []
                // Apart, in raw memory: the hot loop reads only these, and an array captured
                // by the per-span closure costs reference counting on every read.
                var services = FlatBuffer<Range<Int>?>(capacity: 8)
                var resourceValues = FlatBuffer<Range<Int>?>(capacity: 8 * dimensions)
                // Every span's series key goes one after another in `keys`; `entries` says where
                // each is. Flat storage for the batch: no allocation per span.
                var keys = KeyBuffer(capacity: items * 48)
                var entries = FlatBuffer<Entry>(capacity: items)
                defer {
                    keys.deallocate()
                    entries.deallocate()
                    services.deallocate()
                    resourceValues.deallocate()
                }
                var exemplars: [SeriesTable.Exemplar] = []
                // The span's dimension values (raw memory: a closure over an array here would
                // copy the key layout for every span).
                let values = UnsafeMutableBufferPointer<Range<Int>?>.allocate(capacity: dimensions)
                values.initialize(repeating: nil)
                defer { values.deallocate() }
                var span = OTLPSpanFields()
                var skipped = 0
                // Each span is read as it is reached (`visit`), while its bytes are in the cache.
                try OTLPRequestLayout.visit(.traces, raw, resource: { _, message in
                    let attributes = OTLPAttributes.list(raw, message, field: 1)
                    var service: Range<Int>?
                    if case .string(let name)? = OTLPAttributes.find(raw, attributes, key: Self.serviceKey) { service = name }
                    resources.append((message, service == nil ? nil : resourceKey(raw, attributes)))
                    services.append(service)
                    guard dimensions > 0 else { return }
                    matcher.fill(raw, attributes, into: resourceValues.append(dimensions, of: nil))
                }, item: { (r, payload) throws(OTLPDecodeError) in
                    guard let service = services[r] else {
                        skipped += 1
                        return
                    }
                    if dimensions > 0 { values.update(repeating: nil) }
                    try span.read(raw, payload, matching: matcher, into: values)
                    let start = keys.count
                    if dimensions > 0 {
                        for i in 0..<dimensions where values[i] == nil { values[i] = resourceValues[r * dimensions + i] }
                    }
                    layout.write(&keys, raw, service: service, name: span.name, kind: span.kind, status: span.statusCode, values: values)
                    let nanos = span.endTimeUnixNano > span.startTimeUnixNano ? span.endTimeUnixNano - span.startTimeUnixNano : 0
                    var entry = Entry(resource: r, key: start..<keys.count, hash: ByteKeyTable.hash(keys[start..<keys.count]),
                                      duration: Double(nanos) / divider)
                    if !span.traceState.isEmpty, let adjusted = Self.adjustedCount(raw, span.traceState) { entry.adjustedCount = adjusted }
                    if withExemplars && !span.traceID.isEmpty {
                        entry.exemplar = exemplars.count
                        exemplars.append(.init(traceID: Array(UnsafeRawBufferPointer(rebasing: raw[span.traceID])),
                                               spanID: Array(UnsafeRawBufferPointer(rebasing: raw[span.spanID])),
                                               time: span.endTimeUnixNano, value: entry.duration))
                    }
                    entries.append(entry)
                })
                if skipped > 0 { skippedSpans.add(skipped) }
                state.table.withLock { t in
                    var current = (resource: -1, index: -1)
                    for e in entries.elements {
                        if e.resource != current.resource {
                            let message = resources[e.resource].message ?? 0..<0
                            current = (e.resource, t.resource(key: resources[e.resource].key!,
                                                              message: UnsafeRawBufferPointer(rebasing: raw[message]), now: now))
                        }
                        let weight = e.adjustedCount > 0 ? t.round(e.adjustedCount) : 1
                        t.record(resource: current.index, key: keys[e.key], hash: e.hash, duration: e.duration, weight: weight, now: now,
                                 exemplar: e.exemplar < 0 ? nil : exemplars[e.exemplar], attributes: layout.attributes(ofKey:))
                    }
                }
            }
        } catch {
            // The receiver validated the request: only a bug gets here. Its spans are not
            // counted; the traces go on.
            logger.warn("spanmetrics could not read \(bytes.count) bytes of a batch (about \(items) spans): \(error)")
        }
    }

    static let serviceKey = Array("service.name".utf8)
    private static let thMarker = Array("th:".utf8)

    /// A span, ready to record: where its series key is in the batch's key buffer, the key's
    /// hash, its duration, adjusted count (0: none) and exemplar (an index in the batch's list;
    /// -1: none). Plain values only, so the entries are copied without reference counting.
    private struct Entry {
        var resource: Int
        var key: Range<Int>
        var hash: UInt64
        var duration: Double
        var adjustedCount: Double = 0
        var exemplar = -1
    }

    /// The adjusted count (1 / sampling probability) of a span whose tracestate at `traceState`
    /// carries an OTEP 235 threshold; nil without one.
    private static func adjustedCount(_ raw: UnsafeRawBufferPointer, _ traceState: Range<Int>) -> Double? {
        guard Self.contains(raw, traceState, Self.thMarker),
              let state = try? W3CTraceState(parsing: OTLPAttributes.string(raw, traceState)),
              let threshold = state.threshold, threshold.probability > 0 else { return nil }
        return 1 / threshold.probability
    }

    private static func contains(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, _ needle: [UInt8]) -> Bool {
        guard range.count >= needle.count else { return false }
        var i = range.lowerBound
        while i <= range.upperBound - needle.count {
            if raw[i] == needle[0] && raw[i + 1] == needle[1] && raw[i + 2] == needle[2] { return true }
            i += 1
        }
        return false
    }

    /// The resource's identity: its attributes (or those named by
    /// `resource_metrics_key_attributes`), each serialized `KeyValue`, sorted and joined.
    private func resourceKey(_ raw: UnsafeRawBufferPointer, _ attributes: [Range<Int>]) -> WireKey {
        var parts: [[UInt8]] = []
        for kv in attributes {
            if !resourceKeys.isEmpty {
                let key = OTLPAttributes.key(raw, kv)
                guard resourceKeys.contains(where: { OTLPAttributes.equal(raw, key, $0) }) else { continue }
            }
            parts.append(Array(UnsafeRawBufferPointer(rebasing: raw[kv])))
        }
        parts.sort { $0.lexicographicallyPrecedes($1) }
        var key: [UInt8] = []
        for part in parts {
            var w = OTLPWireWriter(capacity: part.count + 5)
            w.bytesField(1, part)
            key += w.bytes
        }
        return WireKey(key)
    }

    /// Writes what the table holds and hands it to the metrics pipelines (the timer calls it
    /// with the wall clock; tests with a time of their own).
    ///
    /// The request is written, handed on and the table reset in one hold of the lock (handing on
    /// never blocks: `Consumer`), so a span recorded meanwhile, on a receiver's thread, is
    /// neither lost by a delta reset nor counted in two flushes.
    func flush(now: UInt64? = nil) {
        let now = now ?? wallClock()
        let refused = state.table.withLock { table -> (points: Int, error: ComponentError)? in
            guard let request = SpanMetricsWire.request(table, now: now) else {
                table.flushed(now: now)
                return nil
            }
            do throws(ComponentError) {
                try next.consume(TelemetryBatch(signal: .metrics, payload: request.bytes, itemCount: request.points))
            } catch {
                if !settings.delta { table.flushed(now: now) }
                return (request.points, error)
            }
            table.flushed(now: now)
            return nil
        }
        if let refused {
            refusedFlushes.increment()
            logger.warn("the metrics pipelines refused \(refused.points) span metric points (\(refused.error.message)); they go out with the next flush")
        }
    }

    deinit {
        metrics.removeCallback("collectord_spanmetrics_series", labels: [("connector", name)], id: gaugeID)
    }
}
