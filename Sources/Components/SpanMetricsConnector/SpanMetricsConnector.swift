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
/// Design: `export` reads each span on the wire (`OTLPRequestLayout`, `OTLPSpanFields`),
/// builds its dimension values and adds it to the `SeriesTable` under a mutex, then returns:
/// the traces' acknowledgement does not wait for metrics, which are derived data. Every
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
/// in a mutex; everything else is immutable (the key buffers are written in `init` and freed in
/// `deinit`).
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
    /// The standard dimensions kept (not excluded), in their fixed order.
    private let standardDimensions: [Standard]
    private let standardKeys: [UnsafeRawBufferPointer]
    private let dimensionKeyBytes: [UnsafeRawBufferPointer]
    private let dimensionKeys: [[UInt8]]
    private let dimensionDefaults: [UnsafeRawBufferPointer?]
    private let resourceKeys: [[UInt8]]

    /// Names of span kinds and status codes, in static memory (the hot path neither allocates
    /// nor retains for them). `nonisolated(unsafe)`: written once at initialization, never
    /// changed or freed after, so reading from any thread is safe.
    nonisolated(unsafe) static let kindNames = ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
                            "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"].map(SpanMetricsConnector.permanent)
    nonisolated(unsafe) static let statusNames = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"].map(SpanMetricsConnector.permanent)
    nonisolated(unsafe) static let unknownName = SpanMetricsConnector.permanent("UNKNOWN")

    /// Bytes of `text` in memory that lives as long as the process (never freed).
    static func permanent(_ text: String) -> UnsafeRawBufferPointer {
        let bytes = Array(text.utf8)
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        memory.copyBytes(from: bytes)
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(memory)[0..<bytes.count])
    }

    private enum Standard { case service, name, kind, status }

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
        standardDimensions = standard.map { ["service.name": .service, "span.name": .name, "span.kind": .kind][$0] ?? .status }
        standardKeys = standard.map(Self.permanent)
        dimensionKeyBytes = settings.dimensions.map { Self.permanent($0.name) }
        dimensionKeys = settings.dimensions.map { Array($0.name.utf8) }
        dimensionDefaults = settings.dimensions.map { d in d.defaultValue.map(Self.permanent) }
        resourceKeys = settings.resourceKeyAttributes.map { Array($0.utf8) }
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

    func export(_ batch: TelemetryBatch) throws(ComponentError) {
        let now = wallClock()
        do {
            try batch.payload.withBytes { (raw) throws(OTLPDecodeError) in
                let layout = try OTLPRequestLayout(.traces, raw)
                // Per resource, once: its attributes, its service.name value, its key.
                var resources: [(attributes: [Range<Int>], service: Range<Int>?, key: WireKey?)] = []
                resources.reserveCapacity(layout.resources.count)
                for resource in layout.resources {
                    let attributes = OTLPAttributes.list(raw, resource.resourceMessage, field: 1)
                    var service: Range<Int>?
                    if case .string(let name)? = OTLPAttributes.find(raw, attributes, key: Self.serviceKey) { service = name }
                    resources.append((attributes, service, service == nil ? nil : resourceKey(raw, attributes)))
                }
                // One flat array: appending to an array inside an array element copied the inner
                // array on every append (quadratic in the batch's spans).
                var prepared: [Prepared] = []
                prepared.reserveCapacity(layout.items.count)
                var span = OTLPSpanFields()
                let context = Context(standard: standardDimensions, standardKeys: standardKeys, dimensionKeys: dimensionKeys,
                                      dimensionKeyBytes: dimensionKeyBytes, defaults: dimensionDefaults, kinds: Self.kindNames,
                                      statuses: Self.statusNames, divider: settings.unit.divider, exemplars: settings.exemplars)
                for item in layout.items {
                    let r = layout.scopes[item.scope].resource
                    guard let service = resources[r].service else {
                        skippedSpans.increment()
                        continue
                    }
                    try span.read(raw, item.payload)
                    var p = Self.prepare(raw, span, service: service, resourceAttributes: resources[r].attributes, context)
                    p.resource = r
                    prepared.append(p)
                }
                state.table.withLock { t in
                    var current = (resource: -1, index: -1)
                    for p in prepared {
                        if p.resource != current.resource {
                            let message = layout.resources[p.resource].resourceMessage ?? 0..<0
                            current = (p.resource, t.resource(key: resources[p.resource].key!, message: UnsafeRawBufferPointer(rebasing: raw[message]),
                                                              now: now))
                        }
                        let weight = p.adjustedCount.map { t.round($0) } ?? 1
                        t.record(resource: current.index, attributes: p.attributes, duration: p.duration, weight: weight, now: now,
                                 exemplar: p.exemplar)
                    }
                }
            }
        } catch {
            // The receiver validated the request: only a bug gets here. Its spans are not
            // counted; the traces go on.
            logger.warn("spanmetrics could not read a batch of \(batch.itemCount) spans: \(error)")
        }
    }

    static let serviceKey = Array("service.name".utf8)
    private static let thMarker = Array("th:".utf8)

    private struct Prepared {
        var resource = 0
        var attributes: WireKey
        var duration: Double
        var adjustedCount: Double?
        var exemplar: SeriesTable.Exemplar?
    }

    /// The span's series (its data point attributes, written in place), duration, adjusted
    /// count and exemplar.
    /// What `prepare` reads, gathered once per batch: the connector's arrays, read through a
    /// borrowed parameter, are neither retained nor released per span.
    private struct Context {
        let standard: [Standard]
        let standardKeys: [UnsafeRawBufferPointer]
        let dimensionKeys: [[UInt8]]
        let dimensionKeyBytes: [UnsafeRawBufferPointer]
        let defaults: [UnsafeRawBufferPointer?]
        let kinds: [UnsafeRawBufferPointer]
        let statuses: [UnsafeRawBufferPointer]
        let divider: Double
        let exemplars: Bool
    }

    private static func prepare(_ raw: UnsafeRawBufferPointer, _ span: OTLPSpanFields, service: Range<Int>,
                                resourceAttributes: [Range<Int>], _ c: Context) -> Prepared {
        var w = OTLPWireWriter(capacity: 160)
        for i in 0..<c.standard.count {
            let value: UnsafeRawBufferPointer
            switch c.standard[i] {
            case .service: value = UnsafeRawBufferPointer(rebasing: raw[service])
            case .name: value = UnsafeRawBufferPointer(rebasing: raw[span.name])
            case .kind: value = span.kind >= 0 && span.kind < c.kinds.count ? c.kinds[span.kind] : Self.unknownName
            case .status: value = span.statusCode >= 0 && span.statusCode < c.statuses.count ? c.statuses[span.statusCode] : Self.unknownName
            }
            OTLPMetricsWriter.stringAttribute(&w, key: c.standardKeys[i], value: value)
        }
        let dimensions = c.dimensionKeyBytes.count
        if dimensions > 0 {
            // One pass over the span's attributes for every dimension, then the resource's;
            // what was found goes in a stack buffer (no allocation per span).
            withUnsafeTemporaryAllocation(of: Range<Int>?.self, capacity: dimensions) { values in
                values.initialize(repeating: nil)
                var missing = dimensions
                for kv in span.attributes where missing > 0 {
                    let (k, v) = OTLPAttributes.keyAndValue(raw, kv)
                    for i in 0..<dimensions where values[i] == nil && OTLPAttributes.equal(raw, k, c.dimensionKeyBytes[i]) {
                        values[i] = v
                        missing -= 1
                    }
                }
                for kv in resourceAttributes where missing > 0 {
                    let (k, v) = OTLPAttributes.keyAndValue(raw, kv)
                    for i in 0..<dimensions where values[i] == nil && OTLPAttributes.equal(raw, k, c.dimensionKeyBytes[i]) {
                        values[i] = v
                        missing -= 1
                    }
                }
                for i in 0..<dimensions {
                    if let value = values[i] {
                        OTLPMetricsWriter.rawAttribute(&w, key: c.dimensionKeyBytes[i], anyValue: UnsafeRawBufferPointer(rebasing: raw[value]))
                    } else if let fallback = c.defaults[i] {
                        OTLPMetricsWriter.stringAttribute(&w, key: c.dimensionKeyBytes[i], value: fallback)
                    }
                }
            }
        }
        let nanos = span.endTimeUnixNano > span.startTimeUnixNano ? span.endTimeUnixNano - span.startTimeUnixNano : 0
        let duration = Double(nanos) / c.divider
        var adjusted: Double?
        if !span.traceState.isEmpty, Self.contains(raw, span.traceState, Self.thMarker),
           let state = try? W3CTraceState(parsing: OTLPAttributes.string(raw, span.traceState)),
           let threshold = state.threshold, threshold.probability > 0 {
            adjusted = 1 / threshold.probability
        }
        var exemplar: SeriesTable.Exemplar?
        if c.exemplars && !span.traceID.isEmpty {
            exemplar = .init(traceID: Array(UnsafeRawBufferPointer(rebasing: raw[span.traceID])),
                             spanID: Array(UnsafeRawBufferPointer(rebasing: raw[span.spanID])),
                             time: span.endTimeUnixNano, value: duration)
        }
        return Prepared(attributes: WireKey(w.take()), duration: duration, adjustedCount: adjusted, exemplar: exemplar)
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
    func flush(now: UInt64? = nil) {
        let now = now ?? wallClock()
        let request = state.table.withLock { SpanMetricsWire.request($0, now: now) }
        guard let request else {
            state.table.withLock { $0.flushed(now: now) }
            return
        }
        do {
            try next.consume(TelemetryBatch(signal: .metrics, payload: request.bytes, itemCount: request.points))
            state.table.withLock { $0.flushed(now: now) }
        } catch {
            refusedFlushes.increment()
            logger.warn("the metrics pipelines refused \(request.points) span metric points (\(error.message)); they go out with the next flush")
            if !settings.delta { state.table.withLock { $0.flushed(now: now) } }
        }
    }

    deinit {
        for buffer in standardKeys + dimensionKeyBytes + dimensionDefaults.compactMap({ $0 }) {
            UnsafeMutableRawPointer(mutating: buffer.baseAddress)?.deallocate()
        }
        metrics.removeCallback("collectord_spanmetrics_series", labels: [("connector", name)], id: gaugeID)
    }
}
