import CollectorCore
import CollectorTesting
import OTLPCodec
@testable import PrometheusExporter
import Testing

@Suite struct PrometheusExporterTests {
    @Test(arguments: [
        ("traces.span.metrics.calls", "", true, false, "traces_span_metrics_calls_total"),
        ("traces.span.metrics.duration", "ms", false, false, "traces_span_metrics_duration_milliseconds"),
        ("http.server.request.duration", "s", false, false, "http_server_request_duration_seconds"),
        ("process.memory.usage", "By", false, true, "process_memory_usage_bytes"),
        ("network.io", "By/s", false, true, "network_io_bytes_per_second"),
        ("http.server.requests", "{request}", true, false, "http_server_requests_total"),
        ("requests.total", "1", true, false, "requests_total"),
        ("cpu.utilization", "1", false, true, "cpu_utilization_ratio"),
        ("disk-io.seconds", "s", true, false, "disk_io_seconds_total"),
        ("2xx.count", "", false, true, "_2xx_count"),
    ])
    func metricNames(name: String, unit: String, counter: Bool, gauge: Bool, expected: String) {
        #expect(PrometheusNames.metric(name, unit: unit, counter: counter, gauge: gauge, namespace: "", suffixes: true) == expected)
    }

    @Test func labelNamesAndNamespace() {
        #expect(PrometheusNames.label("service.name") == "service_name")
        #expect(PrometheusNames.label("http.response.status_code") == "http_response_status_code")
        #expect(PrometheusNames.label("1st") == "key_1st")
        #expect(PrometheusNames.label("_private") == "key_private")
        #expect(PrometheusNames.label("__reserved") == "__reserved")
        #expect(PrometheusNames.label("Zone") == "Zone")
        #expect(PrometheusNames.label("k8s.pod-name") == "k8s_pod_name")
        #expect(PrometheusNames.label(".hidden") == "key_hidden")
        #expect(PrometheusNames.label("région") == "r_gion")
        #expect(PrometheusNames.metric("calls", unit: "", counter: true, gauge: false, namespace: "my.app", suffixes: true) == "my_app_calls_total")
        #expect(PrometheusNames.metric("duration", unit: "ms", counter: false, gauge: false, namespace: "", suffixes: false) == "duration")
    }

    private func store(_ configure: (inout PrometheusSettings) -> Void = { _ in }) -> MetricStore {
        var settings = PrometheusSettings()
        settings.endpoint = "127.0.0.1:0"
        configure(&settings)
        return MetricStore(settings: settings)
    }

    private typealias Value = OTLPMetricPoints.Value

    private let resource: [(key: String, value: Value)] = [
        ("service.name", .string("checkout")), ("service.namespace", .string("shop")), ("service.instance.id", .string("pod-1")),
        ("k8s.pod.name", .string("checkout-7d")),
    ]

    private func metric(_ name: String, _ kind: OTLPMetricPoints.Kind, unit: String = "", temporality: Int = 2, monotonic: Bool = true,
                        help: String = "") -> OTLPMetricPoints.Metric {
        var m = OTLPMetricPoints.Metric()
        m.name = name
        m.unit = unit
        m.kind = kind
        m.temporality = temporality
        m.monotonic = monotonic
        m.description = help
        return m
    }

    private func point(_ attributes: [(key: String, value: Value)], value: Double = 0, count: UInt64 = 0, sum: Double = 0,
                       buckets: [UInt64] = [], bounds: [Double] = []) -> OTLPMetricPoints.Point {
        var p = OTLPMetricPoints.Point()
        p.attributes = attributes
        p.value = value
        p.count = count
        p.sum = sum
        p.bucketCounts = buckets
        p.bounds = bounds
        p.time = 1_700_000_000_123_000_000
        return p
    }

    @Test func exposesCountersHistogramsGaugesAndTargetInfo() {
        var s = store { $0.constLabels = ["cluster": "prod"] }
        let calls = metric("traces.span.metrics.calls", .sum, help: "calls \"quoted\"\nnext")
        s.add(resource: resource, metric: calls, point: point([("span.name", .string("GET /a"))], value: 3), now: 1)
        s.add(resource: resource, metric: calls, point: point([("span.name", .string("GET /a"))], value: 5), now: 2)   // cumulative: replaces
        s.add(resource: resource, metric: metric("traces.span.metrics.duration", .histogram, unit: "ms"),
              point: point([("span.name", .string("GET /a"))], count: 3, sum: 24.5, buckets: [1, 1, 1], bounds: [2, 4]), now: 2)
        s.add(resource: resource, metric: metric("queue.depth", .gauge, unit: "{item}", monotonic: false),
              point: point([("ok", .bool(true)), ("n", .int(7))], value: 2.5), now: 2)
        #expect(Exposition.render(s, openMetrics: false, timestamps: false) == """
            # TYPE queue_depth gauge
            queue_depth{cluster="prod",instance="pod-1",job="shop/checkout",n="7",ok="true"} 2.5
            # HELP traces_span_metrics_calls_total calls "quoted"\\nnext
            # TYPE traces_span_metrics_calls_total counter
            traces_span_metrics_calls_total{cluster="prod",instance="pod-1",job="shop/checkout",span_name="GET /a"} 5
            # TYPE traces_span_metrics_duration_milliseconds histogram
            traces_span_metrics_duration_milliseconds_bucket{cluster="prod",instance="pod-1",job="shop/checkout",span_name="GET /a",le="2"} 1
            traces_span_metrics_duration_milliseconds_bucket{cluster="prod",instance="pod-1",job="shop/checkout",span_name="GET /a",le="4"} 2
            traces_span_metrics_duration_milliseconds_bucket{cluster="prod",instance="pod-1",job="shop/checkout",span_name="GET /a",le="+Inf"} 3
            traces_span_metrics_duration_milliseconds_sum{cluster="prod",instance="pod-1",job="shop/checkout",span_name="GET /a"} 24.5
            traces_span_metrics_duration_milliseconds_count{cluster="prod",instance="pod-1",job="shop/checkout",span_name="GET /a"} 3
            # HELP target_info Target metadata
            # TYPE target_info gauge
            target_info{instance="pod-1",job="shop/checkout",k8s_pod_name="checkout-7d"} 1

            """)
    }

    @Test func deltaPointsAccumulateAndWhatHasNoPrometheusFormIsDropped() {
        var s = store { $0.resourceToTelemetry = true }
        let delta = metric("orders", .sum, temporality: 1)
        for v in [2.0, 3.0] { s.add(resource: [("service.name", .string("a"))], metric: delta, point: point([], value: v), now: 1) }
        let hist = metric("latency", .histogram, unit: "s", temporality: 1)
        for _ in 0..<2 {
            s.add(resource: [("service.name", .string("a"))], metric: hist, point: point([], count: 2, sum: 1.5, buckets: [1, 1], bounds: [1]), now: 1)
        }
        s.add(resource: [], metric: metric("gone", .sum, temporality: 1, monotonic: false), point: point([], value: 1), now: 1)
        s.add(resource: [], metric: metric("exp", .exponentialHistogram), point: point([], count: 1), now: 1)
        s.add(resource: [], metric: metric("orders.total", .gauge, monotonic: false), point: point([], value: 1), now: 1)   // orders_total is a counter
        #expect(s.dropped == ["delta non-monotonic sum": 1, "exponential histogram": 1, "type conflict": 1])
        let text = Exposition.render(s, openMetrics: false, timestamps: false)
        #expect(text.contains(#"orders_total{job="a",service_name="a"} 5"#))
        #expect(text.contains(#"latency_seconds_bucket{job="a",service_name="a",le="1"} 2"#))
        #expect(text.contains(#"latency_seconds_count{job="a",service_name="a"} 4"#))
        #expect(text.contains("orders_total 1") == false)
    }

    @Test func openMetricsCarriesExemplarsAndEndsWithEOF() {
        var s = store { $0.openMetrics = true }
        var p = point([("span.name", .string("op"))], count: 2, sum: 3, buckets: [1, 1], bounds: [2])
        p.exemplars = [.init(traceID: [UInt8](repeating: 0xAB, count: 16), spanID: [UInt8](repeating: 1, count: 8), time: 1_700_000_000_250_000_000, value: 2.5)]
        s.add(resource: [], metric: metric("d", .histogram, unit: "ms"), point: p, now: 1)
        var c = point([], value: 4)
        c.exemplars = [.init(traceID: [1, 2], spanID: [3], time: 0, value: 1)]
        s.add(resource: [], metric: metric("c", .sum), point: c, now: 1)
        #expect(Exposition.render(s, openMetrics: true, timestamps: false) == """
            # TYPE c counter
            c_total 4 # {trace_id="0102",span_id="03"} 1
            # TYPE d_milliseconds histogram
            d_milliseconds_bucket{span_name="op",le="2"} 1
            d_milliseconds_bucket{span_name="op",le="+Inf"} 2 # {trace_id="abababababababababababababababab",span_id="0101010101010101"} 2.5 1700000000.250
            d_milliseconds_sum{span_name="op"} 3
            d_milliseconds_count{span_name="op"} 2
            # EOF

            """)
    }

    @Test func seriesExpire() {
        var s = store { $0.expiration = 100 }
        s.add(resource: [], metric: metric("a", .gauge, monotonic: false), point: point([], value: 1), now: 1)
        s.add(resource: [], metric: metric("b", .gauge, monotonic: false), point: point([], value: 1), now: 60)
        s.expire(now: 120)
        #expect(Array(s.families.keys) == ["b"])
        // A point stamped after the expiring scrape read the clock is new, not 2^64 ns old.
        s.add(resource: [], metric: metric("c", .gauge, monotonic: false), point: point([], value: 1), now: 125)
        s.expire(now: 121)
        #expect(Set(s.families.keys) == ["b", "c"])
    }
}

/// A reload that changes a `prometheus` exporter's settings starts the new exporter while the
/// old one still serves: they share the endpoint's server (`PrometheusListener`).
@Suite struct PrometheusExporterEndpointTests {
    private func batch(_ value: UInt64) -> TelemetryBatch {
        var w = OTLPWireWriter()
        let calls = OTLPMetricsWriter.sum(name: "calls", points: [.init(attributes: [], start: 1, time: 2, value: value)],
                                          temporality: 2, monotonic: true)
        OTLPMetricsWriter.appendResource(&w, resource: [], scope: "test", metrics: [calls])
        return TelemetryBatch(signal: .metrics, payload: w.take(), itemCount: 1)
    }

    private func exporter(port: Int, namespace: String, host: String = "127.0.0.1", name: String = "prometheus") throws -> PrometheusExporter {
        var settings = PrometheusSettings()
        settings.endpoint = "\(host):\(port)"
        settings.namespace = namespace
        return try PrometheusExporter(settings: settings, name: name, metrics: MetricsRegistry(), logger: .discarding)
    }

    private func series(_ port: Int) async throws -> [String] {
        let text = try await SimpleHTTP.get(port: port, path: "/metrics").text
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
    }

    @Test func aReplacingExporterTakesTheEndpointOver() async throws {
        let port = try FreePort.allocate()
        let old = try exporter(port: port, namespace: "old")
        try old.start()
        try old.export(batch(3))
        #expect(try await series(port) == ["old_calls_total 3"])
        let new = try exporter(port: port, namespace: "new")
        try new.start()   // not "address already in use"
        try new.export(batch(5))
        #expect(try await series(port) == ["new_calls_total 5"])
        old.shutdown()
        #expect(try await series(port) == ["new_calls_total 5"])
        new.shutdown()
        var closed = false
        for _ in 0..<100 where !closed {
            closed = !SimpleHTTP.canConnect(port: port)
            if !closed { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(closed)
        // The endpoint can be taken again from scratch.
        let again = try exporter(port: port, namespace: "again")
        try again.start()
        try again.export(batch(7))
        #expect(try await series(port) == ["again_calls_total 7"])
        again.shutdown()
    }

    /// The same endpoint written another way is the same listener; another exporter on it is
    /// refused as before ("address in use"), not silently shadowed.
    @Test func sharingIsByAddressAndOnlyWithinOneExporter() async throws {
        let port = try FreePort.allocate()
        let old = try exporter(port: port, namespace: "old", host: "0.0.0.0")
        try old.start()
        let new = try exporter(port: port, namespace: "new", host: "")
        try new.start()
        try new.export(batch(2))
        #expect(try await series(port) == ["new_calls_total 2"])
        let other = try exporter(port: port, namespace: "other", host: "0.0.0.0", name: "prometheus/other")
        #expect(throws: ComponentError.self) { try other.start() }
        other.shutdown()
        old.shutdown()
        new.shutdown()
        old.shutdown()   // a second shutdown changes nothing
        #expect(try await series(port: port, after: .milliseconds(2_000)) == nil)
    }

    /// The metrics text, or nil once nothing listens (polled until `after`).
    private func series(port: Int, after: Duration) async throws -> [String]? {
        let deadline = ContinuousClock.now + after
        while ContinuousClock.now < deadline {
            if !SimpleHTTP.canConnect(port: port) { return nil }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await series(port)
    }
}
