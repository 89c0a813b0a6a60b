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
/// Dispatch timer; `flush(now:)` is the test hook) expired edges are settled and the series are
/// handed to `next` as one cumulative metrics request without tokens; `shutdown` flushes once
/// more. A refused flush is counted; the next one carries the totals.
///
/// `@unchecked Sendable`: `timer` is only touched on `queue`; the graph is in a mutex;
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
    private let queue: DispatchQueue
    private var timer: (any DispatchSourceTimer)?
    private let refusedFlushes: Counter
    private let droppedSides: Counter
    private let peerKeys: [[UInt8]]
    private let databaseKeys: [[UInt8]]
    private let dimensionKeys: [[UInt8]]

    init(settings: ServiceGraphSettings, name: String, next: any Consumer, metrics: MetricsRegistry, logger: Logger,
         wallClock: @escaping @Sendable () -> UInt64 = ServiceGraphConnector.unixNanos) {
        self.settings = settings
        self.name = name
        self.next = next
        self.logger = logger
        self.wallClock = wallClock
        state = State(EdgeGraph(settings: settings))
        queue = DispatchQueue(label: "collectord.servicegraph.\(name)")
        let labels = [("connector", name)]
        refusedFlushes = metrics.counter("collectord_servicegraph_refused_flushes_total",
                                         help: "Flushes of service graph metrics the metrics pipelines refused.", labels: labels)
        droppedSides = metrics.counter("collectord_servicegraph_dropped_spans_total",
                                       help: "Client or server spans whose other side never came within store.ttl, or that found the store full.",
                                       labels: labels)
        peerKeys = settings.peerAttributes.map { Array($0.utf8) }
        databaseKeys = settings.databaseNameAttributes.map { Array($0.utf8) }
        dimensionKeys = settings.dimensions.map { Array($0.utf8) }
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

    func shutdown() {
        queue.sync {
            guard let t = timer else { return }
            t.cancel()
            timer = nil
            flush()
        }
    }

    var exportsConcurrently: Bool { true }

    func export(_ batch: TelemetryBatch) throws(ComponentError) {
        let now = wallClock()
        do {
            try batch.payload.withBytes { (raw) throws(OTLPDecodeError) in
                let layout = try OTLPRequestLayout(.traces, raw)
                var sides: [(kind: Int, key: [UInt8]?, side: EdgeGraph.Side, database: String?)] = []
                for item in layout.items {
                    let span = try OTLPSpanFields(raw, item.payload)
                    guard span.kind >= 2 && span.kind <= 5 else { continue }   // server, client, producer, consumer
                    let resource = OTLPAttributes.list(raw, layout.resources[layout.scopes[item.scope].resource].resourceMessage, field: 1)
                    let service = Self.string(raw, OTLPAttributes.find(raw, resource, key: Array("service.name".utf8))) ?? OTLPScanner.unknownService
                    let seconds = span.endTimeUnixNano > span.startTimeUnixNano ? Double(span.endTimeUnixNano - span.startTimeUnixNano) / 1e9 : 0
                    func value(_ key: [UInt8]) -> String? {
                        Self.string(raw, OTLPAttributes.find(raw, span.attributes, key: key) ?? OTLPAttributes.find(raw, resource, key: key))
                    }
                    let isClient = span.kind == 3 || span.kind == 4
                    var side = EdgeGraph.Side(service: service, durationSeconds: seconds, failed: span.statusCode == 2,
                                              dimensions: dimensionKeys.map(value), peer: nil, messaging: span.kind >= 4)
                    let traceID = Array(UnsafeRawBufferPointer(rebasing: raw[span.traceID]))
                    if isClient {
                        side.peer = peerKeys.lazy.compactMap(value).first
                        let database = databaseKeys.lazy.compactMap(value).first
                        sides.append((span.kind, traceID + Array(UnsafeRawBufferPointer(rebasing: raw[span.spanID])), side, database))
                    } else {
                        let parent = span.parentSpanID.isEmpty ? nil : traceID + Array(UnsafeRawBufferPointer(rebasing: raw[span.parentSpanID]))
                        sides.append((span.kind, parent, side, nil))
                    }
                }
                state.graph.withLock { g in
                    for s in sides {
                        if s.kind == 3 || s.kind == 4 {
                            g.client(s.key!, s.side, database: s.database, now: now)
                        } else {
                            g.server(s.key, s.side, now: now)
                        }
                    }
                }
            }
        } catch {
            logger.warn("servicegraph could not read a batch of \(batch.itemCount) spans: \(error)")
        }
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
