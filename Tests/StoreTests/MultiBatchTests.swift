import CollectorTesting
import OTLPCodec
import Store
import Testing

/// A trace whose spans arrive in many batches, out of order and across segments.
@Suite struct MultiBatchTests {
    /// Deterministic shuffle (a linear congruential generator).
    struct Shuffler: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
    }

    @Test func traceAcrossBatchesAndSegmentsComesBackWholeAndDeduplicated() throws {
        let dir = TempDirectory()
        let events = EventLog()
        var config = testConfig(dir.path, segmentMaxBytes: 4096)
        config.compressionLevel = 1
        let target = 7
        let services = ["frontend", "cart", "payment"]
        // 60 spans of the target trace, 3 services, in batches of 3 spans each, with 20 spans
        // of other traces per batch, shuffled; 5 batches are sent twice (client retries).
        let spans = (0..<60).map { i in
            TestSpan(traceID: traceID(target), spanID: spanID(i), parentSpanID: i == 0 ? [] : spanID(0),
                     name: "op\(i % 4)", start: 10_000 + UInt64(i) * 7, end: 10_000 + UInt64(i) * 7 + 3, error: i % 13 == 0 && i > 0)
        }
        var batches: [[UInt8]] = []
        for b in 0..<20 {
            let mine = spans[(b * 3)..<(b * 3 + 3)]
            let noise = (0..<20).map { n in
                TestSpan(traceID: traceID(1000 + b * 20 + n), spanID: spanID(5000 + b * 20 + n), name: "noise",
                         start: 9_000, end: 9_500)
            }
            let service = services[b % 3]
            batches.append(OTLPBuild.traces([
                TestResource(service: service, items: Array(mine)),
                TestResource(service: "other", items: noise),
            ]))
        }
        var rng = Shuffler(state: 42)
        var order = Array(batches.indices).shuffled(using: &rng)
        order += order.prefix(5)
        let logs = (0..<6).map { i in TestLog(time: 10_100 + UInt64(i), traceID: traceID(target), spanID: spanID(i), body: "log\(i)") }

        let expectedSpans = spans.enumerated().map { i, s in
            DecodedSpan(service: services[i / 3 % 3], scope: "test-scope", name: s.name, traceID: hex(s.traceID), spanID: hex(s.spanID))
        }.sorted()
        let expectedLogs = logs.map { DecodedLog(service: "frontend", body: $0.body, traceID: hex($0.traceID), spanID: hex($0.spanID)) }.sorted()

        func check(_ store: TraceStore) throws {
            let got = try #require(store.trace(OTLPTraceID(bytes: traceID(target))!))
            #expect(got.spanCount == 60 && got.logCount == 6)
            #expect(try decodeSpans(got.spans).sorted() == expectedSpans)
            #expect(try decodeLogs(got.logs).sorted() == expectedLogs)
            // One ResourceSpans per service, whatever the number of batches.
            #expect(try resourceCount(.traces, got.spans) == 3)
            let summary = store.search(service: "payment", operation: "op1")
            #expect(summary.count == 1)
            #expect(summary.first?.rootService == "frontend" && summary.first?.rootOperation == "op0")
            #expect(summary.first?.startTimeUnixNano == 10_000 && summary.first?.durationNanos == 59 * 7 + 3)
            #expect(summary.first?.errorCount ?? 0 >= 4)
        }

        do {
            let store = try TraceStore(config: config, onEvent: events.sink)
            for (n, b) in order.enumerated() {
                try store.append(kind: .spans, payload: batches[b], itemCount: 23)
                if n % 4 == 0 {
                    let i = n / 4
                    if i < logs.count {
                        try store.append(kind: .logs, payload: OTLPBuild.logs([TestResource(service: "frontend", items: [logs[i]])]), itemCount: 1)
                    }
                }
            }
            // Queried while segments are still being sealed, then after.
            try check(store)
            store.waitForMaintenance()
            let stats = store.statistics()
            #expect(stats.segments >= 3 && stats.sealedSegments == stats.segments - 1)
            try check(store)
            store.close()
        }
        let store = try TraceStore(config: config, onEvent: events.sink)
        try check(store)
        #expect(events.problems.isEmpty)
        // Every noise trace is whole too.
        for n in 0..<400 {
            let got = try #require(store.trace(id: traceID(1000 + n)))
            #expect(try decodeSpans(got.spans).map(\.spanID) == [hex(spanID(5000 + n))])
        }
    }
}
