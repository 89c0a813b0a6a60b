@testable import CollectorCore
import CollectorTesting
import OTLPCodec
@testable import ServiceGraphConnector
@testable import SpanMetricsConnector
import Synchronization
import Testing

private final class Sink: Consumer {
    let batches = Mutex<[TelemetryBatch]>([])
    func consume(_ batch: TelemetryBatch) throws(ComponentError) { batches.withLock { $0.append(batch) } }
    var payloads: [[UInt8]] { batches.withLock { $0.map(\.payload) } }
    var points: Int { batches.withLock { $0.reduce(0) { $0 + $1.itemCount } } }
}

/// The RED connectors in one pipeline share one read of each part (`BatchMemo`, built for the
/// union of their keys): what they aggregate must be exactly what each aggregates reading alone.
@Suite struct SharedSpanReadTests {
    private static let start: UInt64 = 1_700_000_000_000_000_000

    private struct Pair {
        let spanMetrics: SpanMetricsConnector
        let serviceGraph: ServiceGraphConnector
        let sinks = (Sink(), Sink())

        init() {
            var sm = SpanMetricsSettings()
            sm.dimensions = [.init(name: "client.address"), .init(name: "db.name", defaultValue: "none")]
            var sg = ServiceGraphSettings()
            sg.dimensions = ["http.route"]
            let clock: @Sendable () -> UInt64 = { SharedSpanReadTests.start }
            spanMetrics = SpanMetricsConnector(settings: sm, name: "spanmetrics", next: sinks.0, metrics: MetricsRegistry(),
                                               logger: .discarding, wallClock: clock)
            serviceGraph = ServiceGraphConnector(settings: sg, name: "servicegraph", next: sinks.1, metrics: MetricsRegistry(),
                                                 logger: .discarding, wallClock: clock)
        }

        func flush() {
            spanMetrics.flush(now: SharedSpanReadTests.start + 5_000_000_000)
            serviceGraph.flush(now: SharedSpanReadTests.start + 5_000_000_000)
        }
    }

    private static func span(_ trace: UInt8, _ id: UInt8, parent: UInt8? = nil, _ name: String, kind: UInt64, ms: UInt64,
                              error: Bool = false, _ attributes: [String: TestValue] = [:]) -> TestSpan {
        TestSpan(traceID: [UInt8](repeating: trace, count: 16), spanID: [UInt8](repeating: id, count: 8),
                 parentSpanID: parent.map { [UInt8](repeating: $0, count: 8) } ?? [], name: name, start: 1_000_000_000,
                 end: 1_000_000_000 + ms * 1_000_000, error: error, attributes: attributes, kind: kind)
    }

    /// Three requests merged by reference (three parts), services on both sides of edges
    /// across parts, dimensions on spans and on resources, a resource without service.name.
    private static func batch() -> TelemetryBatch {
        func request(_ resources: [TestResource<TestSpan>]) -> TelemetryBatch {
            TelemetryBatch(signal: .traces, payload: OTLPBuild.traces(resources), itemCount: resources.reduce(0) { $0 + $1.items.count })
        }
        var batch = request([
            TestResource(service: "frontend", attributes: ["client.address": .string("10.0.0.9")], items: [
                span(1, 1, "GET /", kind: 2, ms: 120),
                span(1, 2, parent: 1, "GET cart", kind: 3, ms: 80, ["http.route": .string("/cart"), "client.address": .string("10.0.0.1")]),
                span(2, 3, "charge", kind: 3, ms: 9, error: true, ["peer.service": .string("payments")]),
            ]),
        ])
        batch.append(request([
            TestResource(service: "cart", items: [
                span(1, 4, parent: 2, "GET /cart", kind: 2, ms: 70, ["http.route": .string("/cart")]),
                span(1, 5, parent: 4, "SELECT", kind: 3, ms: 4, ["db.name": .string("carts"), "db.system": .string("redis")]),
                span(1, 6, parent: 4, "compute", kind: 1, ms: 1),
            ]),
            TestResource(service: nil, items: [span(3, 7, "orphan", kind: 2, ms: 3)]),
        ]), keepingPartsFrom: 1)
        batch.append(request([
            TestResource(service: "frontend", attributes: ["client.address": .string("10.0.0.9")], items: [
                span(4, 8, "GET /", kind: 2, ms: 300, error: true, ["db.name": .int(3)]),
            ]),
        ]), keepingPartsFrom: 1)
        return batch
    }

    @Test func sharedReadAggregatesExactlyAsReadingAlone() throws {
        let shared = Pair(), alone = Pair()
        let batch = Self.batch()
        #expect(batch.parts.count == 2)

        let plan = try #require(BatchMemo.plan(for: [shared.spanMetrics, shared.serviceGraph], signal: .traces))
        #expect(plan.keys == ["client.address", "db.name", "db.system", "http.route", "peer.service"])
        var memoized = batch
        let memo = BatchMemo(attributeKeys: plan.keys, readers: plan.readers)
        memoized.memo = memo
        try shared.spanMetrics.export(memoized)
        #expect(memo.kept == 3)      // every part read once, waiting for the other reader
        try shared.serviceGraph.export(memoized)
        #expect(memo.kept == 0)      // and taken by it
        try alone.spanMetrics.export(batch)
        try alone.serviceGraph.export(batch)
        shared.flush()
        alone.flush()

        // Not vacuous: calls and duration points for the 7 series of the spans with a service,
        // and the service graph's series for its 3 edges.
        #expect(alone.sinks.0.points == 14)
        #expect(alone.sinks.1.points > 0)
        #expect(shared.sinks.0.payloads == alone.sinks.0.payloads)
        #expect(shared.sinks.1.payloads == alone.sinks.1.payloads)
        #expect(shared.sinks.0.points == alone.sinks.0.points && shared.sinks.1.points == alone.sinks.1.points)
    }

    /// The order of the readers does not matter: the service graph reads first this time.
    @Test func eitherReaderMayReadFirst() throws {
        let shared = Pair(), alone = Pair()
        let batch = Self.batch()
        var memoized = batch
        memoized.memo = BatchMemo(attributeKeys: ["a.key.no.span.has", "client.address", "db.name", "db.system", "http.route", "peer.service"],
                                  readers: 2)
        try shared.serviceGraph.export(memoized)
        try shared.spanMetrics.export(memoized)
        try alone.spanMetrics.export(batch)
        try alone.serviceGraph.export(batch)
        shared.flush()
        alone.flush()
        #expect(alone.sinks.0.points == 14)
        #expect(shared.sinks.0.payloads == alone.sinks.0.payloads)
        #expect(shared.sinks.1.payloads == alone.sinks.1.payloads)
        #expect(memoized.memo?.kept == 0)
    }
}
