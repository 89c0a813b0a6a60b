import Buffers
import CollectorCore
import Dispatch
import OTLPCodec
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The `servicegraph` connector: request counts, failures and latencies between services, from
/// the client/server span pairs of the traces pipelines that export to it (see `EdgeGraph`).
///
/// `export` reads each span on the wire, files it in the graph under a mutex and returns (the
/// traces' acknowledgement does not wait for metrics). Every `metrics_flush_interval` (a
/// `PeriodicFlush`; `flush(now:)` is the test hook) expired edges are settled and the series are
/// handed to `next` as one cumulative metrics request without tokens; `shutdown` flushes once
/// more. A refused flush is counted; the next one carries the totals.
///
/// `@unchecked Sendable`: `flusher` is set once, at the end of `init`; the graph is in a mutex;
/// everything else is immutable.
final class ServiceGraphConnector: Exporter, @unchecked Sendable {
    private final class State: Sendable {
        let graph: Mutex<EdgeGraph>
        init(_ graph: EdgeGraph) { self.graph = Mutex(graph) }
    }

    private let settings: ServiceGraphSettings
    private let name: String
    private let next: any Consumer
    private let logger: Logger
    private let wallClock: @Sendable () -> UInt64
    private let state: State
    private var flusher: PeriodicFlush!
    private let refusedFlushes: Counter
    private let droppedSides: Counter
    private let peerKeys: [[UInt8]]
    private let databaseKeys: [[UInt8]]
    private let dimensionKeys: [[UInt8]]
    /// Finds `dimensionKeys`, then `peerKeys`, then `databaseKeys` (what a client span is
    /// searched for) among a span's or a resource's attributes.
    private let wantedMatcher: OTLPAttributeMatcher

    init(settings: ServiceGraphSettings, name: String, next: any Consumer, metrics: MetricsRegistry, logger: Logger,
         wallClock: @escaping @Sendable () -> UInt64 = WallClock.unixNanos) {
        self.settings = settings
        self.name = name
        self.next = next
        self.logger = logger
        self.wallClock = wallClock
        state = State(EdgeGraph(settings: settings))
        let labels = [("connector", name)]
        refusedFlushes = metrics.counter("collectord_servicegraph_refused_flushes_total",
                                         help: "Flushes of service graph metrics the metrics pipelines refused.", labels: labels)
        droppedSides = metrics.counter("collectord_servicegraph_dropped_spans_total",
                                       help: "Client or server spans whose other side never came within store.ttl, or that found the store full.",
                                       labels: labels)
        peerKeys = settings.peerAttributes.map { Array($0.utf8) }
        databaseKeys = settings.databaseNameAttributes.map { Array($0.utf8) }
        dimensionKeys = settings.dimensions.map { Array($0.utf8) }
        wantedMatcher = OTLPAttributeMatcher(dimensionKeys + peerKeys + databaseKeys)
        flusher = PeriodicFlush(label: "collectord.servicegraph.\(name)", interval: settings.flushInterval) { [weak self] in self?.flush() }
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
                // Per resource, once: its service and the values its attributes give the wanted
                // keys (a span's own attributes win over them).
                var services: [String] = []
                var resourceValues = FlatBuffer<Range<Int>?>(capacity: 8 * wantedMatcher.count)
                defer { resourceValues.deallocate() }
                var sides: [Found] = []
                sides.reserveCapacity(items)
                // The sides' dimension values, one after another (`Found.dimensions` says where).
                var dimensionValues: [String?] = []
                var span = OTLPSpanFields()
                let matcher = wantedMatcher, wantedCount = matcher.count
                let dimensionCount = dimensionKeys.count, peerEnd = dimensionCount + peerKeys.count
                // Found values, one buffer for the batch (raw memory: no array or closure per span).
                let found = UnsafeMutableBufferPointer<Range<Int>?>.allocate(capacity: wantedCount)
                found.initialize(repeating: nil)
                defer { found.deallocate() }
                // Each span is read as it is reached (`visit`), while its bytes are in the cache.
                try OTLPRequestLayout.visit(.traces, raw, resource: { _, message in
                    let attributes = OTLPAttributes.list(raw, message, field: 1)
                    services.append(Self.string(raw, OTLPAttributes.find(raw, attributes, key: Self.serviceKey)) ?? OTLPScanner.unknownService)
                    matcher.fill(raw, attributes, into: resourceValues.append(wantedCount, of: nil))
                }, item: { (r, payload) throws(OTLPDecodeError) in
                    if wantedCount > 0 { found.update(repeating: nil) }
                    try span.read(raw, payload, matching: matcher, into: found)
                    guard span.kind >= 2 && span.kind <= 5 else { return }   // server, client, producer, consumer
                    let isClient = span.kind == 3 || span.kind == 4
                    let seconds = span.endTimeUnixNano > span.startTimeUnixNano ? Double(span.endTimeUnixNano - span.startTimeUnixNano) / 1e9 : 0
                    var side = Found(client: isClient, resource: Int32(r),
                                     side: EdgeGraph.Side(service: -1, durationSeconds: seconds, failed: span.statusCode == 2,
                                                          messaging: span.kind >= 4))
                    // Server sides need only the dimensions; client sides their peer and database too.
                    let needed = isClient ? wantedCount : dimensionCount
                    if needed > 0 {
                        for i in 0..<needed where found[i] == nil { found[i] = resourceValues[r * wantedCount + i] }
                        if dimensionCount > 0 {
                            let values = (0..<dimensionCount).map { i in found[i].flatMap { Self.string(raw, OTLPAttributes.anyValue(raw, $0)) } }
                            if values.contains(where: { $0 != nil }) {
                                side.dimensions = Int32(dimensionValues.count)
                                dimensionValues.append(contentsOf: values)
                            }
                        }
                        if isClient {
                            side.peer = Self.firstNamed(raw, found, dimensionCount..<peerEnd)
                            side.database = Self.firstNamed(raw, found, peerEnd..<wantedCount)
                        }
                    }
                    if isClient {
                        side.key = Self.key(raw, span.traceID, span.spanID)
                    } else if !span.parentSpanID.isEmpty {
                        side.key = Self.key(raw, span.traceID, span.parentSpanID)
                    } else {
                        side.root = true
                    }
                    sides.append(side)
                })
                state.graph.withLock { g in
                    Self.file(sides, raw, services: services, dimensions: dimensionValues, count: dimensionCount, in: &g, now: now)
                }
            }
        } catch {
            logger.warn("servicegraph could not read \(bytes.count) bytes of a batch (about \(items) spans): \(error)")
        }
    }

    private static let serviceKey = Array("service.name".utf8)

    /// A side as read from its span, before the lock: plain values (the batch's sides are
    /// copied as bytes); the service as the resource's number, names as ranges of the batch.
    private struct Found {
        var client: Bool
        /// A server span without a parent (its edge comes from the virtual node `user`).
        var root = false
        /// Trace id and the client's span id (unused for a root).
        var key = EdgeGraph.EdgeKey(high: 0, low: 0, span: 0)
        var resource: Int32
        var side: EdgeGraph.Side
        /// The `AnyValue`s of the peer name and the database name (client sides).
        var peer: Range<Int>?
        var database: Range<Int>?
        /// Where this side's dimension values start in the batch's list; -1: none.
        var dimensions: Int32 = -1

        init(client: Bool, resource: Int32, side: EdgeGraph.Side) {
            self.client = client
            self.resource = resource
            self.side = side
        }
    }

    /// Files a batch's sides in the graph (under its lock), their services interned.
    private static func file(_ sides: [Found], _ raw: UnsafeRawBufferPointer, services: [String], dimensions: [String?], count: Int,
                             in g: inout EdgeGraph, now: UInt64) {
        var ids: [Int32] = []
        ids.reserveCapacity(services.count)
        for service in services { ids.append(g.intern(service)) }
        for s in sides {
            var side = s.side
            side.service = ids[Int(s.resource)]
            let values = s.dimensions < 0 ? [] : Array(dimensions[Int(s.dimensions)..<(Int(s.dimensions) + count)])
            if s.client {
                g.client(s.key, side, peer: s.peer.flatMap { Self.string(raw, OTLPAttributes.anyValue(raw, $0)) }, dimensions: values,
                         database: s.database.flatMap { Self.string(raw, OTLPAttributes.anyValue(raw, $0)) }, now: now)
            } else {
                g.server(s.root ? nil : s.key, side, dimensions: values, now: now)
            }
        }
    }

    /// The first value among `slots[range]` that has a text form.
    private static func firstNamed(_ raw: UnsafeRawBufferPointer, _ slots: UnsafeMutableBufferPointer<Range<Int>?>, _ range: Range<Int>) -> Range<Int>? {
        for i in range {
            if let slot = slots[i], OTLPAttributes.anyValue(raw, slot) != .other { return slot }
        }
        return nil
    }

    /// A trace id and a span id as a fixed-size key (shorter ids are padded with zeros).
    private static func key(_ raw: UnsafeRawBufferPointer, _ trace: Range<Int>, _ span: Range<Int>) -> EdgeGraph.EdgeKey {
        var bytes: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { out in
            UnsafeMutableRawBufferPointer(rebasing: out[0..<min(16, trace.count)]).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[trace.lowerBound..<(trace.lowerBound + min(16, trace.count))]))
            UnsafeMutableRawBufferPointer(rebasing: out[16..<(16 + min(8, span.count))]).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[span.lowerBound..<(span.lowerBound + min(8, span.count))]))
        }
        return EdgeGraph.EdgeKey(high: bytes.0, low: bytes.1, span: bytes.2)
    }

    private static func string(_ raw: UnsafeRawBufferPointer, _ value: OTLPValue?) -> String? {
        switch value {
        case .string(let range)?: OTLPAttributes.string(raw, range)
        case .int(let i)?: String(i)
        case .bool(let b)?: String(b)
        case .double(let d)?: String(d)
        default: nil
        }
    }

    /// Settles expired edges and hands the series to the metrics pipelines.
    func flush(now: UInt64? = nil) {
        let now = now ?? wallClock()
        let (request, drops) = state.graph.withLock { g in
            g.expire(now: now)
            return (g.request(now: now), g.takeDrops())
        }
        if drops > 0 { droppedSides.add(drops) }
        guard let request else { return }
        do {
            try next.consume(TelemetryBatch(signal: .metrics, payload: request.bytes, itemCount: request.points))
        } catch {
            refusedFlushes.increment()
            logger.warn("the metrics pipelines refused \(request.points) service graph points (\(error.message)); the next flush carries the totals")
        }
    }
}
