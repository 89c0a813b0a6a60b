import CollectorCore
import Testing

@Suite struct MetricsRegistryTests {
    @Test func rendersPrometheusTextExactly() {
        let m = MetricsRegistry()
        m.counter("otelcol_receiver_accepted_spans_total", help: "Accepted spans.",
                  labels: [("receiver", "otlp"), ("transport", "grpc")]).add(5)
        m.counter("otelcol_receiver_accepted_spans_total", help: "Accepted spans.",
                  labels: [("receiver", "otlp"), ("transport", "grpc")]).add(2)
        let h = m.histogram("batch_size", help: "Sizes.", labels: [("processor", "batch")], bounds: [10, 100])
        h.observe(5)
        h.observe(50)
        h.observe(500)
        m.callback("ring_fill", help: "Fill \"level\".", labels: [("pipeline", "a\"b")]) { 3 }
        #expect(m.render() == """
        # HELP batch_size Sizes.
        # TYPE batch_size histogram
        batch_size_bucket{processor="batch",le="10"} 1
        batch_size_bucket{processor="batch",le="100"} 2
        batch_size_bucket{processor="batch",le="+Inf"} 3
        batch_size_sum{processor="batch"} 555
        batch_size_count{processor="batch"} 3
        # HELP otelcol_receiver_accepted_spans_total Accepted spans.
        # TYPE otelcol_receiver_accepted_spans_total counter
        otelcol_receiver_accepted_spans_total{receiver="otlp",transport="grpc"} 7
        # HELP ring_fill Fill "level".
        # TYPE ring_fill gauge
        ring_fill{pipeline="a\\"b"} 3

        """)
    }

    @Test func callbackRemovalOnlyRemovesItsOwnRegistration() {
        let m = MetricsRegistry()
        let old = m.callback("g", help: "h") { 1 }
        _ = m.callback("g", help: "h") { 2 }
        m.removeCallback("g", id: old)
        #expect(m.render().contains("g 2"))
    }
}

@Suite struct RFC3339Tests {
    @Test func formatsKnownInstants() {
        #expect(RFC3339.format(nanoseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.format(nanoseconds: 1_700_000_000_001_500_000, digits: 9) == "2023-11-14T22:13:20.001500000Z")
        #expect(RFC3339.format(nanoseconds: 951_782_400_000_000_000, digits: 0) == "2000-02-29T00:00:00Z")
        #expect(RFC3339.format(nanoseconds: 1_795_738_446_631_712_473) == "2026-11-27T00:14:06.631Z")
    }

    /// Explicit buckets as OTLP and Prometheus count them: a value equal to a bound is in
    /// that bound's bucket; above every bound (or NaN) in the last.
    @Test func explicitBucketIndex() {
        let bounds = [2.0, 4.0, 10.0]
        let cases: [(Double, Int)] = [(-1, 0), (0, 0), (2, 0), (2.0000001, 1), (4, 1), (9.9, 2), (10, 2), (10.5, 3), (.infinity, 3), (.nan, 3)]
        for (value, bucket) in cases { #expect(ExplicitBuckets.index(of: value, in: bounds) == bucket, "\(value)") }
        #expect(ExplicitBuckets.index(of: 1, in: []) == 0)
    }

    /// A histogram counts each value, weighted, into its bucket, the count and the sum.
    @Test func explicitHistogramObserves() {
        let bounds = [2.0, 4.0]
        var h = ExplicitHistogram(bounds: bounds.count)
        h.observe(1, bounds: bounds)
        h.observe(4, weight: 3, bounds: bounds)
        h.observe(9.5, weight: 2, bounds: bounds)
        #expect(h.count == 6 && h.sum == 32 && h.buckets == [1, 3, 2])
    }
}
