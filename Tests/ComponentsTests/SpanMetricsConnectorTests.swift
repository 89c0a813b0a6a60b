import CollectorCore
import CollectorTesting
import Foundation
import OTLPCodec
@testable import SpanMetricsConnector
import Synchronization
import Testing

/// Collects what a connector hands downstream.
private final class Collected: Consumer {
    let batches = Mutex<[TelemetryBatch]>([])
    let refuse = Atomic<Bool>(false)
    func consume(_ batch: TelemetryBatch) throws(ComponentError) {
        if refuse.load(ordering: .relaxed) { throw .retryable("pipeline metrics is full") }
        batches.withLock { $0.append(batch) }
    }
    var all: [TelemetryBatch] { batches.withLock { $0 } }
}

/// A wall clock the test moves.
private final class Wall: Sendable {
    let now = Atomic<UInt64>(1_700_000_000_000_000_000)
    var read: @Sendable () -> UInt64 { { self.now.load(ordering: .relaxed) } }
    func advance(_ ns: UInt64) { now.add(ns, ordering: .relaxed) }
}

/// One data point of the connector's output, read back through OTLP/JSON.
private struct Point {
    var metric: String
    var unit: String
    var service: String
    var attributes: [String: String]
    var start: UInt64
    var time: UInt64
    var value: Int?
    var count: Int?
    var sum: Double?
    var buckets: [Int]
    var temporality: Int
    var exemplars: Int
}

private func points(_ batch: TelemetryBatch) throws -> [Point] {
    #expect(batch.signal == .metrics && batch.tokens.isEmpty)
    #expect(try OTLPValidator.count(.metrics, protobuf: batch.payload) == batch.itemCount)
    let json = try OTLPJSON.encode(.metrics, protobuf: batch.payload)
    let root = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
    func text(_ any: Any?) -> String {
        guard let v = any as? [String: Any] else { return "" }
        if let s = v["stringValue"] as? String { return s }
        if let b = v["boolValue"] as? Bool { return String(b) }
        if let i = v["intValue"] as? String { return i }
        return "?"
    }
    func attributes(_ list: Any?) -> [String: String] {
        var out: [String: String] = [:]
        for kv in list as? [[String: Any]] ?? [] { out[kv["key"] as? String ?? ""] = text(kv["value"]) }
        return out
    }
    var out: [Point] = []
    for rm in root["resourceMetrics"] as? [[String: Any]] ?? [] {
        let resource = attributes((rm["resource"] as? [String: Any])?["attributes"])
        for sm in rm["scopeMetrics"] as? [[String: Any]] ?? [] {
            #expect((sm["scope"] as? [String: Any])?["name"] as? String == "spanmetricsconnector")
            for m in sm["metrics"] as? [[String: Any]] ?? [] {
                let data = (m["sum"] ?? m["histogram"]) as? [String: Any] ?? [:]
                if m["sum"] != nil { #expect(data["isMonotonic"] as? Bool == true) }
                for p in data["dataPoints"] as? [[String: Any]] ?? [] {
                    out.append(Point(
                        metric: m["name"] as? String ?? "", unit: m["unit"] as? String ?? "", service: resource["service.name"] ?? "",
                        attributes: attributes(p["attributes"]),
                        start: UInt64(p["startTimeUnixNano"] as? String ?? "") ?? 0, time: UInt64(p["timeUnixNano"] as? String ?? "") ?? 0,
                        value: (p["asInt"] as? String).flatMap { Int($0) }, count: (p["count"] as? String).flatMap { Int($0) },
                        sum: p["sum"] as? Double, buckets: (p["bucketCounts"] as? [String] ?? []).compactMap { Int($0) },
                        temporality: data["aggregationTemporality"] as? Int ?? 0,
                        exemplars: (p["exemplars"] as? [Any])?.count ?? 0))
                }
            }
        }
    }
    return out
}

private let ms: UInt64 = 1_000_000

private func span(_ n: Int, _ name: String, ms duration: UInt64, error: Bool = false, kind: UInt64 = 2, traceState: String = "",
                  attributes: [String: TestValue] = [:]) -> TestSpan {
    TestSpan(traceID: traceID(n), spanID: spanID(n), traceState: traceState, name: name, start: 5_000_000_000,
             end: 5_000_000_000 + duration * ms, error: error, attributes: attributes, kind: kind)
}

@Suite struct SpanMetricsConnectorTests {
    private func connector(_ configure: (inout SpanMetricsSettings) -> Void = { _ in }) -> (SpanMetricsConnector, Collected, Wall, MetricsRegistry) {
        var settings = SpanMetricsSettings()
        configure(&settings)
        let next = Collected(), wall = Wall(), metrics = MetricsRegistry()
        let c = SpanMetricsConnector(settings: settings, name: "spanmetrics", next: next, metrics: metrics, logger: .discarding,
                                     wallClock: wall.read)
        return (c, next, wall, metrics)
    }

    private func batch(_ resources: [TestResource<TestSpan>]) -> TelemetryBatch {
        TelemetryBatch(signal: .traces, payload: OTLPBuild.traces(resources), itemCount: resources.reduce(0) { $0 + $1.items.count })
    }

    @Test func callsAndDurationsPerServiceNameKindAndStatus() throws {
        let (c, next, wall, metrics) = connector()
        let t0 = wall.read()
        try c.export(batch([
            TestResource(service: "checkout", attributes: ["k8s.pod.name": .string("p1")], items: [
                span(1, "GET /cart", ms: 1), span(2, "GET /cart", ms: 3), span(3, "GET /cart", ms: 20),
                span(4, "GET /cart", ms: 500, error: true), span(5, "SELECT", ms: 7, kind: 3),
            ]),
            TestResource(service: nil, items: [span(6, "no service", ms: 1)]),
        ]))
        wall.advance(15_000 * ms)
        c.flush()
        let out = try points(try #require(next.all.first))
        #expect(next.all.count == 1 && next.all[0].itemCount == 6)
        let calls = out.filter { $0.metric == "traces.span.metrics.calls" }
        #expect(calls.map(\.attributes) == [
            ["service.name": "checkout", "span.name": "GET /cart", "span.kind": "SPAN_KIND_SERVER", "status.code": "STATUS_CODE_UNSET"],
            ["service.name": "checkout", "span.name": "GET /cart", "span.kind": "SPAN_KIND_SERVER", "status.code": "STATUS_CODE_ERROR"],
            ["service.name": "checkout", "span.name": "SELECT", "span.kind": "SPAN_KIND_CLIENT", "status.code": "STATUS_CODE_UNSET"],
        ])
        #expect(calls.map(\.value) == [3, 1, 1])
        #expect(calls.allSatisfy { $0.start == t0 && $0.time == t0 + 15_000 * ms && $0.temporality == 2 && $0.unit == "" })
        let durations = out.filter { $0.metric == "traces.span.metrics.duration" }
        #expect(durations.map(\.unit) == ["ms", "ms", "ms"])
        #expect(durations.map(\.count) == [3, 1, 1])
        #expect(durations.map(\.sum) == [24, 500, 7])
        // Bounds 2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10000, 15000 (ms).
        #expect(durations[0].buckets == [1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(durations[1].buckets == [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
        #expect(durations[2].buckets == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(out.allSatisfy { $0.service == "checkout" })
        #expect(metrics.render().contains("collectord_spanmetrics_spans_without_service_total{connector=\"spanmetrics\"} 1"))
        #expect(metrics.render().contains("collectord_spanmetrics_series{connector=\"spanmetrics\"} 3"))
    }

    /// A batch merged by reference (parts, each whole requests) is read part by part and
    /// counts exactly as the same batch joined.
    @Test func aBatchWithPartsCountsAsTheSameBatchJoined() throws {
        let requests = [
            [TestResource(service: "a", items: [span(1, "op", ms: 3), span(2, "op", ms: 30, error: true)])],
            [TestResource(service: "b", items: [span(3, "get", ms: 7, kind: 3)]), TestResource(service: "a", items: [span(4, "op", ms: 1)])],
            [TestResource(service: "a", items: [span(5, "op", ms: 600)])],
        ].map(batch)
        var parted = requests[0]
        for r in requests.dropFirst() { parted.append(r, keepingPartsFrom: 1) }
        #expect(parted.parts.count == 2)
        var joined = parted
        joined.join()
        var results: [[Point]] = []
        for input in [parted, joined] {
            let (c, next, wall, _) = connector()
            try c.export(input)
            wall.advance(15_000 * ms)
            c.flush()
            results.append(try points(try #require(next.all.first)))
        }
        func summary(_ points: [Point]) -> [String] {
            points.map { "\($0.metric) \($0.service) \($0.attributes.sorted { $0.key < $1.key }) \($0.value ?? -1) \($0.count ?? -1) \($0.sum ?? -1) \($0.buckets)" }
        }
        #expect(summary(results[0]) == summary(results[1]))
        let calls = results[0].filter { $0.metric == "traces.span.metrics.calls" }
        // a/op unset (spans 1, 4, 5), a/op error (2), b/get (3).
        #expect(calls.compactMap(\.value).sorted() == [1, 1, 3])
    }

    @Test func cumulativeCarriesTotalsDeltaRestartsAtEachFlush() throws {
        for delta in [false, true] {
            let (c, next, wall, _) = connector { $0.delta = delta }
            let t0 = wall.read()
            try c.export(batch([TestResource(service: "a", items: [span(1, "op", ms: 1), span(2, "op", ms: 1)])]))
            wall.advance(60_000 * ms)
            c.flush()
            try c.export(batch([TestResource(service: "a", items: [span(3, "op", ms: 1)])]))
            wall.advance(60_000 * ms)
            c.flush()
            wall.advance(60_000 * ms)
            c.flush()   // nothing new
            let flushes = try next.all.map { try points($0).filter { $0.metric.hasSuffix(".calls") } }
            if delta {
                #expect(flushes.count == 2, "a delta flush with nothing new sends nothing")
                #expect(flushes.map { $0.map(\.value) } == [[2], [1]])
                #expect(flushes[1][0].start == t0 + 60_000 * ms && flushes[1][0].temporality == 1)
            } else {
                #expect(flushes.map { $0.map(\.value) } == [[2], [3], [3]])
                #expect(flushes.allSatisfy { $0[0].start == t0 })
            }
        }
    }

    @Test func dimensionsDefaultsAndExclusions() throws {
        let (c, next, _, _) = connector {
            $0.dimensions = [.init(name: "http.method", defaultValue: "GET"), .init(name: "region", defaultValue: nil),
                             .init(name: "zone", defaultValue: nil)]
            $0.excludeDimensions = ["status.code", "span.kind"]
        }
        try c.export(batch([
            TestResource(service: "a", attributes: ["region": .string("eu")], items: [
                span(1, "op", ms: 1, attributes: ["http.method": .string("POST")]),
                span(2, "op", ms: 1),
                span(3, "op", ms: 1, attributes: ["region": .string("us"), "zone": .int(3)]),
            ]),
        ]))
        c.flush()
        let calls = try points(try #require(next.all.first)).filter { $0.metric.hasSuffix(".calls") }
        #expect(calls.map(\.attributes) == [
            ["service.name": "a", "span.name": "op", "http.method": "POST", "region": "eu"],
            ["service.name": "a", "span.name": "op", "http.method": "GET", "region": "eu"],
            ["service.name": "a", "span.name": "op", "http.method": "GET", "region": "us", "zone": "3"],
        ])
        #expect(calls.map(\.value) == [1, 1, 1])
    }

    /// Series keys hold values alone, length-prefixed: a long name (a two-byte length), names
    /// that are prefixes of each other, an empty one, a kind outside the enum, and a dimension
    /// whose value holds the bytes another's tag would have are each their own series; a span
    /// carrying a dimension's default value is in the default's series; and the attributes
    /// written back from the keys are the spans' own.
    @Test func seriesKeysKeepEveryValueApart() throws {
        let (c, next, _, _) = connector { $0.dimensions = [.init(name: "x", defaultValue: "d"), .init(name: "y", defaultValue: nil)] }
        let long = String(repeating: "n", count: 300)
        try c.export(batch([TestResource(service: "a", items: [
            span(1, long, ms: 1), span(2, "ab", ms: 1), span(3, "a", ms: 1, attributes: ["x": .string("b")]),
            span(4, "", ms: 1), span(5, "ab", ms: 1, kind: 9), span(6, "ab", ms: 1, attributes: ["y": .string("\u{2}")]),
            span(7, long, ms: 2), span(8, "ab", ms: 1, attributes: ["x": .string("d")]),
        ])]))
        c.flush()
        let calls = try points(try #require(next.all.first)).filter { $0.metric.hasSuffix(".calls") }
        #expect(calls.map { [$0.attributes["span.name"]!, $0.attributes["span.kind"]!, $0.attributes["x"]!, $0.attributes["y"] ?? "-"] } == [
            [long, "SPAN_KIND_SERVER", "d", "-"],
            ["ab", "SPAN_KIND_SERVER", "d", "-"],
            ["a", "SPAN_KIND_SERVER", "b", "-"],
            ["", "SPAN_KIND_SERVER", "d", "-"],
            ["ab", "UNKNOWN", "d", "-"],
            ["ab", "SPAN_KIND_SERVER", "d", "\u{2}"],
        ])
        #expect(calls.map(\.value) == [2, 2, 1, 1, 1, 1])
    }

    @Test func pastTheCardinalityLimitSpansGoToTheOverflowSeries() throws {
        let (c, next, _, _) = connector { $0.cardinalityLimit = 2 }
        try c.export(batch([TestResource(service: "a", items: [
            span(1, "a", ms: 1), span(2, "b", ms: 1), span(3, "c", ms: 1), span(4, "d", ms: 1), span(5, "a", ms: 1),
        ])]))
        c.flush()
        let calls = try points(try #require(next.all.first)).filter { $0.metric.hasSuffix(".calls") }
        #expect(calls.map { $0.attributes["span.name"] ?? "overflow=\($0.attributes["otel.metric.overflow"] ?? "")" } == ["a", "b", "overflow=true"])
        #expect(calls.map(\.value) == [2, 1, 2])
    }

    @Test func seriesExpireWhenNotUpdated() throws {
        let (c, next, wall, _) = connector { $0.expiration = 90_000 * ms }
        try c.export(batch([TestResource(service: "a", items: [span(1, "old", ms: 1)])]))
        wall.advance(60_000 * ms)
        try c.export(batch([TestResource(service: "b", items: [span(2, "new", ms: 1)])]))
        c.flush()
        wall.advance(60_000 * ms)
        c.flush()   // "old" was last seen 120 s ago: expired after this flush
        wall.advance(60_000 * ms)
        c.flush()   // "new", 120 s: expired too
        wall.advance(60_000 * ms)
        c.flush()
        let names = try next.all.map { try points($0).filter { $0.metric.hasSuffix(".calls") }.compactMap { $0.attributes["span.name"] } }
        #expect(names == [["old", "new"], ["old", "new"], ["new"]])
    }

    /// A span recorded on a receiver's thread just after a flush read the clock is newer than
    /// the flush's time: it is not taken for one seen ages ago (the subtraction wrapped).
    @Test func aSeriesUpdatedAfterTheFlushReadTheClockDoesNotExpire() throws {
        let (c, next, wall, _) = connector { $0.expiration = 90_000 * ms }
        let flushTime = wall.read()
        wall.advance(5 * ms)
        try c.export(batch([TestResource(service: "a", items: [span(1, "fresh", ms: 1)])]))
        c.flush(now: flushTime)
        c.flush(now: flushTime + 10 * ms)
        let names = try next.all.map { try points($0).filter { $0.metric.hasSuffix(".calls") }.compactMap { $0.attributes["span.name"] } }
        #expect(names == [["fresh"], ["fresh"]])
    }

    @Test func sampledSpansCountAsTheirAdjustedCount() throws {
        let (c, next, _, _) = connector()
        try c.export(batch([TestResource(service: "a", items: [
            span(1, "quarter", ms: 10, traceState: "ot=th:c"),       // p = 1/4
            span(2, "half", ms: 10, traceState: "ot=th:8;rv:abcdefabcdefab,vendor=x"),   // p = 1/2
            span(3, "all", ms: 10, traceState: "ot=th:0"),           // p = 1
            span(4, "plain", ms: 10, traceState: "vendor=x"),
        ])]))
        c.flush()
        let out = try points(try #require(next.all.first))
        #expect(out.filter { $0.metric.hasSuffix(".calls") }.map(\.value) == [4, 2, 1, 1])
        let durations = out.filter { $0.metric.hasSuffix(".duration") }
        #expect(durations.map(\.count) == [4, 2, 1, 1])
        #expect(durations.map(\.sum) == [40, 20, 10, 10])
    }

    @Test func exemplarsAreCappedAndClearedAtEachFlush() throws {
        let (c, next, _, _) = connector {
            $0.exemplars = true
            $0.exemplarsPerPoint = 2
        }
        try c.export(batch([TestResource(service: "a", items: [span(1, "op", ms: 1), span(2, "op", ms: 2), span(3, "op", ms: 3)])]))
        c.flush()
        c.flush()
        let exemplars = try next.all.map { try points($0).filter { $0.metric.hasSuffix(".duration") }.map(\.exemplars) }
        #expect(exemplars == [[2], [0]])
    }

    @Test func aRefusedDeltaFlushIsSentWithTheNext() throws {
        let (c, next, wall, metrics) = connector { $0.delta = true }
        try c.export(batch([TestResource(service: "a", items: [span(1, "op", ms: 1)])]))
        next.refuse.store(true, ordering: .relaxed)
        wall.advance(60_000 * ms)
        c.flush()
        next.refuse.store(false, ordering: .relaxed)
        try c.export(batch([TestResource(service: "a", items: [span(2, "op", ms: 1)])]))
        wall.advance(60_000 * ms)
        c.flush()
        #expect(try next.all.map { try points($0).filter { $0.metric.hasSuffix(".calls") }.map(\.value) } == [[2]])
        #expect(metrics.render().contains("collectord_spanmetrics_refused_flushes_total{connector=\"spanmetrics\"} 1"))
    }

    @Test func secondsAndCustomBucketsAndNamespace() throws {
        let parsed = try ConfigParser(factories: [StubComponentFactory(type: "otlp", kind: .receiver),
                                                  StubComponentFactory(type: "nop", kind: .exporter), SpanMetricsFactory()])
            .parse(yaml: """
                receivers: {otlp: }
                exporters: {nop: }
                connectors:
                  spanmetrics:
                    namespace: ""
                    histogram: {unit: s, explicit: {buckets: [100ms, 1s, 2500ms]}}
                    dimensions: [{name: http.method, default: GET}]
                    metrics_flush_interval: 15s
                    aggregation_temporality: AGGREGATION_TEMPORALITY_DELTA
                service:
                  pipelines:
                    traces: {receivers: [otlp], exporters: [spanmetrics]}
                    metrics: {receivers: [spanmetrics], exporters: [nop]}
                """, file: "c.yaml", environment: [:])
        let settings = try #require(parsed.component(.connector, ComponentID(type: "spanmetrics"))?.settings as? SpanMetricsSettings)
        #expect(settings.buckets == [0.1, 1, 2.5] && settings.unit == .seconds && settings.namespace == "")
        #expect(settings.flushInterval == 15_000 * ms && settings.delta)
        #expect(settings.dimensions == [.init(name: "http.method", defaultValue: "GET")])
        let defaults = SpanMetricsSettings()
        #expect(defaults.flushInterval == 60_000 * ms && !defaults.delta && defaults.namespace == "traces.span.metrics")
        #expect(defaults.buckets.count == 16 && defaults.unit == .milliseconds)

        let next = Collected()
        let c = SpanMetricsConnector(settings: settings, name: "s", next: next, metrics: MetricsRegistry(), logger: .discarding)
        try c.export(batch([TestResource(service: "a", items: [span(1, "op", ms: 1500)])]))
        c.flush()
        let out = try points(try #require(next.all.first))
        #expect(out.map(\.metric) == ["calls", "duration"])
        #expect(out[1].unit == "s" && out[1].sum == 1.5 && out[1].buckets == [0, 0, 1, 0])
    }

    @Test func configProblems() {
        let parser = ConfigParser(factories: [StubComponentFactory(type: "otlp", kind: .receiver),
                                              StubComponentFactory(type: "nop", kind: .exporter), SpanMetricsFactory()])
        func problems(_ settings: String) -> [String] {
            do {
                _ = try parser.parse(yaml: """
                    receivers: {otlp: }
                    exporters: {nop: }
                    connectors:
                      spanmetrics:
                    \(settings)
                    service:
                      pipelines:
                        traces: {receivers: [otlp], exporters: [spanmetrics]}
                        metrics: {receivers: [spanmetrics], exporters: [nop]}
                    """, file: "c.yaml", environment: [:])
                return []
            } catch {
                return error.problems.map(\.message)
            }
        }
        #expect(problems("    dimensions: [{name: span.name}]") == ["duplicate dimension name span.name"])
        #expect(problems("    exclude_dimensions: [http.method]") == ["\"http.method\" is not one of service.name, span.name, span.kind, status.code"])
        #expect(problems("    histogram: {explicit: {buckets: [1s, 10ms]}}") == ["buckets must be in increasing order"])
        #expect(problems("    aggregation_temporality: DELTA").count == 1)
        #expect(problems("    histogram: {exponential: {max_size: 160}}") == ["exponential histograms are not supported yet; use explicit buckets"])
    }
}
