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
/// `metrics_flush_interval` (a Dispatch timer; `flush(now:)` is the test hook) the table is
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
/// `@unchecked Sendable`: `timer` is only touched on `queue` (`start` and `shutdown` go through
/// it); the aggregation state is in a mutex; everything else is immutable.
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
    private var timer: (any DispatchSourceTimer)?
    private let queue: DispatchQueue
    private let refusedFlushes: Counter
    private let skippedSpans: Counter
    private let metrics: MetricsRegistry
    private let gaugeID: UInt64
    /// The standard dimensions kept (not excluded), in their fixed order.
    private let standard: [String]
    private let dimensionKeys: [[UInt8]]
    private let dimensionDefaults: [[UInt8]?]
    private let resourceKeys: [[UInt8]]

    static let kindNames = ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
                            "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"].map { OTLPMetricsWriter.stringValue(Array($0.utf8)) }
    static let statusNames = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"].map { OTLPMetricsWriter.stringValue(Array($0.utf8)) }

    init(settings: SpanMetricsSettings, name: String, next: any Consumer, metrics: MetricsRegistry, logger: Logger,
         wallClock: @escaping @Sendable () -> UInt64 = SpanMetricsConnector.unixNanos) {
        self.settings = settings
        self.name = name
        self.next = next
        self.logger = logger
        self.wallClock = wallClock
        self.metrics = metrics
        let state = State(SeriesTable(settings: settings))
        self.state = state
        queue = DispatchQueue(label: "collectord.spanmetrics.\(name)")
        let labels = [("connector", name)]
        refusedFlushes = metrics.counter("collectord_spanmetrics_refused_flushes_total",
                                         help: "Flushes of span metrics the metrics pipelines refused (sent again with the next flush).",
                                         labels: labels)
        skippedSpans = metrics.counter("collectord_spanmetrics_spans_without_service_total",
                                       help: "Spans not counted because their resource has no service.name.", labels: labels)
        standard = SpanMetricsSettings.standardDimensions.filter { !settings.excludeDimensions.contains($0) }
        dimensionKeys = settings.dimensions.map { Array($0.name.utf8) }
        dimensionDefaults = settings.dimensions.map { d in d.defaultValue.map { OTLPMetricsWriter.stringValue(Array($0.utf8)) } }
        resourceKeys = settings.resourceKeyAttributes.map { Array($0.utf8) }
        gaugeID = metrics.callback("collectord_spanmetrics_series", help: "Series the spanmetrics connector holds.",
                                   labels: labels) { Double(state.table.withLock { $0.seriesCount }) }
    }

    static let unixNanos: @Sendable () -> UInt64 = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    func start() throws {
        queue.sync {
            guard timer == nil else { return }
            let t = DispatchSource.makeTimerSource(queue: queue)
            let interval = DispatchTimeInterval.nanoseconds(Int(min(settings.flushInterval, UInt64(Int.max))))
            t.schedule(deadline: .now() + interval, repeating: interval)
            t.setEventHandler { [weak self] in self?.flush() }
            t.resume()
            timer = t
        }
    }

    /// Stops the timer and flushes what is held (the downstream pipelines still run: the
    /// service stops producers first).
    func shutdown() {
        queue.sync {
            guard let t = timer else { return }
            t.cancel()
            timer = nil
            flush()
        }
    }

    /// Aggregation is under the table's lock: stages may call at once.
    var exportsConcurrently: Bool { true }

    func export(_ batch: TelemetryBatch) throws(ComponentError) {
        let now = wallClock()
        do {
            try batch.payload.withBytes { (raw) throws(OTLPDecodeError) in
                let layout = try OTLPRequestLayout(.traces, raw)
                var prepared: [(resource: Int, spans: [Prepared])] = []
                var resourceIndexes: [Int: (key: [UInt8], message: Range<Int>)] = [:]
                for (r, resource) in layout.resources.enumerated() {
                    let message = resource.resourceMessage ?? 0..<0
                    let attributes = OTLPAttributes.list(raw, resource.resourceMessage, field: 1)
                    guard case .string = OTLPAttributes.find(raw, attributes, key: Array("service.name".utf8)) else { continue }
                    resourceIndexes[r] = (resourceKey(raw, attributes), message)
                }
                var current = -1
                for item in layout.items {
                    let r = layout.scopes[item.scope].resource
                    guard resourceIndexes[r] != nil else {
                        skippedSpans.increment()
                        continue
                    }
                    if r != current {
                        prepared.append((r, []))
                        current = r
                    }
                    let span = try OTLPSpanFields(raw, item.payload)
                    let resourceAttributes = OTLPAttributes.list(raw, layout.resources[r].resourceMessage, field: 1)
                    prepared[prepared.count - 1].spans.append(prepare(raw, span, resourceAttributes: resourceAttributes))
                }
                state.table.withLock { t in
                    for group in prepared {
                        let resource = resourceIndexes[group.resource]!
                        let index = t.resource(key: resource.key, message: UnsafeRawBufferPointer(rebasing: raw[resource.message]), now: now)
                        for p in group.spans {
                            let weight = p.adjustedCount.map { t.round($0) } ?? 1
                            t.record(resource: index, attributes: p.attributes, duration: p.duration, weight: weight, now: now,
                                     exemplar: p.exemplar)
                        }
                    }
                }
            }
        } catch {
            // The receiver validated the request: only a bug gets here. Its spans are not
            // counted; the traces go on.
            logger.warn("spanmetrics could not read a batch of \(batch.itemCount) spans: \(error)")
        }
    }

    private struct Prepared {
        var attributes: [UInt8]
        var duration: Double
        var adjustedCount: Double?
        var exemplar: SeriesTable.Exemplar?
    }

    private func prepare(_ raw: UnsafeRawBufferPointer, _ span: OTLPSpanFields, resourceAttributes: [Range<Int>]) -> Prepared {
        var w = OTLPWireWriter(capacity: 128)
        for dimension in standard {
            switch dimension {
            case "service.name":
                if case .string(let range)? = OTLPAttributes.find(raw, resourceAttributes, key: Array("service.name".utf8)) {
                    OTLPMetricsWriter.attribute(&w, key: Array(dimension.utf8), anyValue: OTLPMetricsWriter.stringValue(Array(UnsafeRawBufferPointer(rebasing: raw[range]))))
                }
            case "span.name":
                OTLPMetricsWriter.attribute(&w, key: Array(dimension.utf8), anyValue: OTLPMetricsWriter.stringValue(Array(UnsafeRawBufferPointer(rebasing: raw[span.name]))))
            case "span.kind":
                let kind = Self.kindNames.indices.contains(span.kind) ? Self.kindNames[span.kind]
                    : OTLPMetricsWriter.stringValue(Array(String(span.kind).utf8))
                OTLPMetricsWriter.attribute(&w, key: Array(dimension.utf8), anyValue: kind)
            default:
                let status = Self.statusNames.indices.contains(span.statusCode) ? Self.statusNames[span.statusCode]
                    : OTLPMetricsWriter.stringValue(Array(String(span.statusCode).utf8))
                OTLPMetricsWriter.attribute(&w, key: Array(dimension.utf8), anyValue: status)
            }
        }
        for (i, key) in dimensionKeys.enumerated() {
            if let value = anyValue(raw, span.attributes, key) ?? anyValue(raw, resourceAttributes, key) {
                OTLPMetricsWriter.attribute(&w, key: key, anyValue: Array(UnsafeRawBufferPointer(rebasing: raw[value])))
            } else if let fallback = dimensionDefaults[i] {
                OTLPMetricsWriter.attribute(&w, key: key, anyValue: fallback)
            }
        }
        let nanos = span.endTimeUnixNano > span.startTimeUnixNano ? span.endTimeUnixNano - span.startTimeUnixNano : 0
        let duration = Double(nanos) / settings.unit.divider
        var adjusted: Double?
        if !span.traceState.isEmpty,
           let state = try? W3CTraceState(parsing: OTLPAttributes.string(raw, span.traceState)),
           let threshold = state.threshold, threshold.probability > 0 {
            adjusted = 1 / threshold.probability
        }
        var exemplar: SeriesTable.Exemplar?
        if settings.exemplars && !span.traceID.isEmpty {
            exemplar = .init(traceID: Array(UnsafeRawBufferPointer(rebasing: raw[span.traceID])),
                             spanID: Array(UnsafeRawBufferPointer(rebasing: raw[span.spanID])),
                             time: span.endTimeUnixNano, value: duration)
        }
        return Prepared(attributes: w.bytes, duration: duration, adjustedCount: adjusted, exemplar: exemplar)
    }

    /// The raw `AnyValue` of the first attribute named `key` among `keyValues`.
    private func anyValue(_ raw: UnsafeRawBufferPointer, _ keyValues: [Range<Int>], _ key: [UInt8]) -> Range<Int>? {
        for kv in keyValues {
            let (k, v) = OTLPAttributes.keyAndValue(raw, kv)
            if OTLPAttributes.equal(raw, k, key) { return v }
        }
        return nil
    }

    /// The resource's identity: its attributes (or those named by
    /// `resource_metrics_key_attributes`), each serialized `KeyValue`, sorted and joined.
    private func resourceKey(_ raw: UnsafeRawBufferPointer, _ attributes: [Range<Int>]) -> [UInt8] {
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
        return key
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
        metrics.removeCallback("collectord_spanmetrics_series", labels: [("connector", name)], id: gaugeID)
    }
}
