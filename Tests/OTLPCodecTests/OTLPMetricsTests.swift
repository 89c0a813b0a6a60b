import Testing
@testable import OTLPCodec

/// The metrics signal through the codecs, against `metrics.pb` / `metrics.json` (written by
/// Python's protobuf, see Fixtures/gen_fixtures.py: 2 resources, 3 scopes, 7 metrics of every
/// kind, 11 data points).
@Suite struct OTLPMetricsTests {
    @Test func validatorCountsDataPoints() throws {
        let counts = try OTLPValidator.counts(.metrics, protobuf: Fixture.bytes("metrics.pb"))
        #expect(counts == OTLPCounts(resources: 2, scopes: 3, items: 11))
        #expect(try OTLPValidator.counts(.metrics, protobuf: []) == OTLPCounts())
    }

    /// Found by fuzzing (Fuzz/corpus/FuzzOTLPProtobuf/regression-metric-data-given-twice): a
    /// metric gave `gauge` twice, 2 data points then none. The validator counted 2; protobuf-c
    /// keeps only the last member of the oneof, so the debug exporter and the OTLP/JSON writer
    /// had none: acknowledged points lost. A metric's data given more than once (the same kind
    /// or two kinds) is refused, and a metric with its data once is counted as before.
    @Test func aMetricGivingItsDataTwiceIsRefused() throws {
        let point = PB.field(1, [])   // NumberDataPoint {}
        func request(_ metric: [UInt8]) -> [UInt8] {
            PB.field(1, PB.field(2, PB.field(2, PB.string(1, "m") + metric)))   // resource_metrics.scope_metrics.metrics
        }
        let once = request(PB.field(5, point + point))   // gauge with 2 points
        #expect(try OTLPValidator.counts(.metrics, protobuf: once).items == 2)
        for twice in [PB.field(5, point + point) + PB.field(5, []), PB.field(5, point) + PB.field(7, point),
                      PB.field(11, []) + PB.field(11, [])] {
            let error = #expect(throws: OTLPDecodeError.self) { try OTLPValidator.counts(.metrics, protobuf: request(twice)) }
            #expect(error?.message.contains("opentelemetry.proto.metrics.v1.Metric gives its data (gauge, sum, histogram, "
                + "exponential_histogram or summary) more than once") == true, "\(String(describing: error?.message))")
        }
        // Other oneofs keep protobuf's rule, the last member wins: an attribute value given as
        // a string, then an int.
        let attribute = PB.field(1, PB.field(1, PB.field(1, PB.string(1, "k") + PB.field(2, PB.string(1, "v") + [0x18, 0x05]))))
        #expect(try OTLPValidator.counts(.metrics, protobuf: attribute + request(PB.field(5, point))).items == 1)
    }

    @Test func truncatedMetricsAreMalformed() throws {
        let bytes = Array(try Fixture.bytes("metrics.pb").dropLast(3))
        #expect(throws: OTLPDecodeError.self) { try OTLPValidator.counts(.metrics, protobuf: bytes) }
        let error = try #require(throws: OTLPDecodeError.self) { try OTLPValidator.counts(.metrics, protobuf: bytes) }
        #expect(error.message.hasPrefix("malformed protobuf: ExportMetricsServiceRequest could not be decoded"))
    }

    @Test func jsonEncodeIsProtobufsJSON() throws {
        let json = try OTLPJSON.encode(.metrics, protobuf: Fixture.bytes("metrics.pb"))
        #expect(String(decoding: json, as: UTF8.self) == (try Fixture.text("metrics.json")))
    }

    @Test func jsonDecodeGivesProtobufsBytes() throws {
        let json = try Fixture.bytes("metrics.json")
        let expected = try Fixture.bytes("metrics.pb")
        #expect(try OTLPJSON.decode(.metrics, json: json) == expected)
        #expect(try OTLPJSON.referenceDecode(.metrics, json: json) == expected)
    }

    @Test func optionalHistogramFieldsKeepTheirPresence() throws {
        // `min` set to 0 is present (proto3 optional); absent `sum` stays absent.
        let json = #"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"histogram":{"dataPoints":[{"count":"1","min":0}]}}]}]}]}"#
        let bytes = try OTLPJSON.decode(.metrics, json: Array(json.utf8))
        let back = String(decoding: try OTLPJSON.encode(.metrics, protobuf: bytes), as: UTF8.self)
        #expect(back == #"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"histogram":{"dataPoints":[{"count":"1","min":0.0}]}}]}]}]}"#)
    }

    @Test(arguments: [
        // Packed repeated scalars: given once, twice (one run, as protobuf-c packs), empty,
        // out of field order, with a repeated message between their runs.
        #""bucketCounts":["1","2"],"explicitBounds":[0.5]"#,
        #""bucketCounts":["1"],"bucketCounts":["2","300"]"#,
        #""bucketCounts":[],"explicitBounds":[]"#,
        #""explicitBounds":[1,2],"count":"3","bucketCounts":["0","1","2"]"#,
        #""bucketCounts":["1"],"exemplars":[{"asInt":"1"}],"bucketCounts":["2"]"#,
        #""bucketCounts":["1"],"explicitBounds":[0.5],"bucketCounts":["2"],"explicitBounds":[1.5]"#,
    ])
    func packedFieldsGiveTheReferenceBytes(fields: String) throws {
        let json = Array((#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"histogram":{"dataPoints":[{"# + fields + "}]}}]}]}]}").utf8)
        let transcoded = try OTLPJSON.decode(.metrics, json: json)
        #expect(transcoded == (try OTLPJSON.referenceDecode(.metrics, json: json)))
        #expect(try OTLPValidator.count(.metrics, protobuf: transcoded) == 1)
    }

    @Test func responseMatchesTheReference() throws {
        #expect(OTLPResponse.encode(.metrics, rejected: 3, errorMessage: "3 data points rejected")
            == (try Fixture.bytes("metrics_response.pb")))
        #expect(String(decoding: OTLPResponse.encodeJSON(.metrics, rejected: 2, errorMessage: nil), as: UTF8.self)
            == #"{"partialSuccess":{"rejectedDataPoints":"2"}}"#)
    }

    /// The metric lines of `bytes` in normal debug format (one per metric, in order).
    private func metricLines(_ bytes: [UInt8]) throws -> [Substring] {
        try DebugFormatter(verbosity: .normal).format(.metrics, protobuf: bytes).split(separator: "\n").dropFirst().map { $0 }
    }

    @Test func splitCutsBetweenMetricsByDataPoints() throws {
        let bytes = try Fixture.bytes("metrics.pb")
        // Points per metric, in order: 2, 2, 2, 1, 0, 1, 3.
        let pieces = try OTLPSplitter.split(.metrics, protobuf: bytes, maxItems: 3)
        #expect(pieces.map(\.count) == [2, 2, 3, 1, 3])
        for piece in pieces {
            #expect(try OTLPValidator.count(.metrics, protobuf: piece.bytes) == piece.count)
        }
        #expect(try metricLines(pieces.flatMap(\.bytes)) == (try metricLines(bytes)))
        // A metric heavier than the limit travels alone.
        let single = try OTLPSplitter.split(.metrics, protobuf: bytes, maxItems: 1)
        #expect(single.map(\.count) == [2, 2, 2, 1, 1, 3])
        #expect(try metricLines(single.flatMap(\.bytes)) == (try metricLines(bytes)))
        // Fits: the input itself.
        let whole = try OTLPSplitter.split(.metrics, protobuf: bytes, maxItems: 11)
        #expect(whole.count == 1 && whole[0].bytes == bytes && whole[0].count == 11)
    }

    @Test func debugFormats() throws {
        let bytes = try Fixture.bytes("metrics.pb")
        #expect(try DebugFormatter(verbosity: .basic).format(.metrics, protobuf: bytes)
            == "Metrics: 2 resource metrics, 3 scope metrics, 11 data points\n")
        #expect(try DebugFormatter(verbosity: .normal).format(.metrics, protobuf: bytes) == """
            Metrics: 2 resource metrics, 3 scope metrics, 11 data points
            metric service="checkout" name="process.memory.usage" type=Gauge unit="By" points=2
            metric service="checkout" name="http.server.requests" type=Sum unit="{request}" points=2
            metric service="checkout" name="http.server.duration" type=Histogram unit="ms" points=2
            metric service="checkout" name="rpc.latency" type=ExponentialHistogram unit="" points=1
            metric service="checkout" name="empty.metric" type=Empty unit="" points=0
            metric service="" name="gc.pause" type=Summary unit="s" points=1
            metric service="" name="queue.depth" type=Gauge unit="" points=3

            """)
        try Fixture.expectGolden(try DebugFormatter(verbosity: .detailed).format(.metrics, protobuf: bytes), "metrics.detailed.txt")
    }

    @Test func pointsReadOnTheWire() throws {
        var seen: [(String, String, OTLPMetricPoints.Point)] = []
        try OTLPMetricPoints.visit(try Fixture.bytes("metrics.pb")) { resource, metric, point in
            let service = resource.first { $0.key == "service.name" }?.value.text ?? ""
            seen.append((service, metric.name, point))
        }
        #expect(seen.map(\.1) == ["process.memory.usage", "process.memory.usage", "http.server.requests", "http.server.requests",
                                  "http.server.duration", "http.server.duration", "rpc.latency", "gc.pause",
                                  "queue.depth", "queue.depth", "queue.depth"])
        #expect(seen.map(\.0) == Array(repeating: "checkout", count: 7) + Array(repeating: "", count: 4))
        #expect(seen[0].2.value == -9007199254740993 && seen[0].2.attributes.map(\.key) == ["state"])
        #expect(seen[3].2.value == 25 && seen[3].2.attributes.map(\.value) == [.int(500), .bool(false)])
        let histogram = seen[4].2
        #expect(histogram.count == 6 && histogram.sum == 1234.5 && histogram.bounds == [5, 50, 500] && histogram.bucketCounts == [1, 2, 0, 3])
        #expect(histogram.exemplars.map(\.value) == [900.25] && histogram.exemplars[0].traceID == Array(1...16))
        #expect(seen[7].2.quantiles.map(\.0) == [0, 0.5, 1] && seen[7].2.quantiles.map(\.1) == [0.1, 0.25, 0.4] && seen[7].2.count == 3)
        #expect(seen[8...].map(\.2.value) == [1.5, .infinity, 0])
    }

    @Test func everyPipelineSignalHasAnOTLPSignal() {
        for signal in OTLPSignal.allCases {
            #expect(OTLPSignal(signal) == signal)
            #expect(signal.httpPath == "/v1/\(signal.rawValue)")
        }
        #expect(OTLPSignal.metrics.grpcPath == "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export")
    }
}
