import CollectorCore
import CollectorTesting
import Testing
@testable import TailSampling

/// Every policy type on generated traces, decided after `decision_wait` on an injected clock.
@Suite struct PolicyTests {
    /// Sends traces 1...n (one span each unless `spans` says otherwise), waits, returns the
    /// numbers of the traces kept.
    func kept(_ policies: [PolicySettings], _ traces: [(Int, [TestSpan])], resource: [String: TestValue] = [:],
              configure: (inout TailSamplingSettings) -> Void = { _ in }) throws -> [Int] {
        let h = try TailHarness(policies: policies, configure)
        for (_, spans) in traces { h.send(spans, at: 10 * second, resource: resource) }
        h.tick(15 * second)
        let ids = Set(h.emittedTraceIDs)
        return traces.map(\.0).filter { ids.contains(hexID($0)) }
    }

    @Test func alwaysSample() throws {
        #expect(try kept([policy("all", .alwaysSample)], [(1, [span(1, 1)]), (2, [span(2, 1)])]) == [1, 2])
    }

    /// Latency over the whole trace (earliest start to latest end), inclusive at the lower
    /// bound; with an upper bound the lower one is exclusive.
    @Test func latency() throws {
        let t0: UInt64 = 1_000 * second
        let traces: [(Int, [TestSpan])] = [
            (1, [span(1, 1, start: t0, durationMs: 100), span(1, 2, start: t0 + 400_000_000, durationMs: 100)]),  // 500 ms
            (2, [span(2, 1, durationMs: 499)]),
            (3, [span(3, 1, durationMs: 500)]),
            (4, [span(4, 1, durationMs: 2_000)]),
        ]
        #expect(try kept([policy("slow", .latency(thresholdMs: 500, upperThresholdMs: 0))], traces) == [1, 3, 4])
        #expect(try kept([policy("band", .latency(thresholdMs: 499, upperThresholdMs: 1_000))], traces) == [1, 3])
    }

    @Test func numericAttributeOnSpansAndResources() throws {
        let traces: [(Int, [TestSpan])] = [
            (1, [span(1, 1, attributes: ["http.status_code": .int(503)])]),
            (2, [span(2, 1, attributes: ["http.status_code": .int(200)])]),
            (3, [span(3, 1)]),
            // Upstream reads non-int values as 0.
            (4, [span(4, 1, attributes: ["http.status_code": .string("500")])]),
        ]
        let p = policy("5xx", .numericAttribute(key: "http.status_code", min: 500, max: 599, invert: false))
        #expect(try kept([p], traces) == [1])
        let low = policy("low", .numericAttribute(key: "http.status_code", min: .min, max: 300, invert: false))
        #expect(try kept([low], traces) == [2, 4])
        let inverted = policy("not5xx", .numericAttribute(key: "http.status_code", min: 500, max: 599, invert: true))
        #expect(try kept([inverted], traces) == [2, 3, 4])
        #expect(try kept([p], [(9, [span(9, 1)])], resource: ["http.status_code": .int(500)]) == [9])
    }

    @Test func stringAttributeExactAndRegex() throws {
        let traces: [(Int, [TestSpan])] = [
            (1, [span(1, 1, attributes: ["rpc.method": .string("grpc.health.v1.HealthCheck")])]),
            (2, [span(2, 1, attributes: ["rpc.method": .string("checkout")])]),
            (3, [span(3, 1, attributes: ["rpc.method": .int(3)])]),
            (4, [span(4, 1)]),
        ]
        #expect(try kept([policy("exact", .stringAttribute(key: "rpc.method", values: ["checkout", ""], regex: false, invert: false))], traces) == [2])
        // Unanchored RE2, as Go's MatchString: upstream's own example.
        #expect(try kept([policy("re", .stringAttribute(key: "rpc.method", values: [#"v[0-9]+.HealthCheck$"#], regex: true, invert: false))], traces) == [1])
        #expect(try kept([policy("noHealth", .stringAttribute(key: "rpc.method", values: ["HealthCheck"], regex: true, invert: true))], traces) == [2, 3, 4])
    }

    @Test func booleanStatusSpanCountAndTraceState() throws {
        let traces: [(Int, [TestSpan])] = [
            (1, [span(1, 1, attributes: ["debug": .bool(true)]), span(1, 2, status: 2)]),
            (2, [span(2, 1, attributes: ["debug": .bool(false)])]),
            (3, [span(3, 1, traceState: "vendor=x,team=payments"), span(3, 2), span(3, 3)]),
            (4, [span(4, 1, status: 1, traceState: "team=search")]),
        ]
        #expect(try kept([policy("dbg", .booleanAttribute(key: "debug", value: true, invert: false))], traces) == [1])
        #expect(try kept([policy("errors", .statusCode([2]))], traces) == [1])
        #expect(try kept([policy("ok-or-error", .statusCode([1, 2]))], traces) == [1, 4])
        #expect(try kept([policy("big", .spanCount(min: 2, max: 0))], traces) == [1, 3])
        #expect(try kept([policy("two", .spanCount(min: 2, max: 2))], traces) == [1])
        #expect(try kept([policy("team", .traceState(key: "team", values: ["payments"]))], traces) == [3])
        // An invalid tracestate matches nothing.
        #expect(try kept([policy("team", .traceState(key: "team", values: ["x"]))], [(5, [span(5, 1, traceState: "team=x,Bad Key=1")])]) == [])
    }

    /// Upstream's FNV-1a-64 over salt and trace id, against thresholds and hashes computed
    /// independently with exact rational arithmetic (Python's fractions).
    @Test func probabilisticThresholdsAndHashes() throws {
        let thresholds: [(Double, UInt64)] = [
            (0, 0), (0.1, 18_446_744_073_709_551), (1, 184_467_440_737_095_519), (10, 1_844_674_407_370_955_263),
            (25, 4_611_686_018_427_387_903), (33, 6_087_425_544_324_152_319), (50, 9_223_372_036_854_775_807),
            (75, 13_835_058_055_282_163_711), (99.9, 18_428_297_329_635_844_095), (100, .max), (150, .max),
        ]
        for (pct, expected) in thresholds {
            #expect(PolicyTree.probabilisticThreshold(pct / 100) == expected, "\(pct)%")
        }
        // FNV-1a-64("default-hash-seed" + 01..10) = 0xdbcf64d5420f4cad: kept at 86%, not at 85%.
        let id = Array(UInt8(1)...UInt8(16))
        let h = try TailHarness(policies: [policy("p86", .probabilistic(hashSalt: "default-hash-seed", percentage: 86))])
        h.send([TestSpan(traceID: id, spanID: spanID(1), name: "op", start: 1, end: 2)], at: 0)
        h.tick(10 * second)
        #expect(h.emittedTraceIDs.count == 1)
        let h85 = try TailHarness(policies: [policy("p85", .probabilistic(hashSalt: "default-hash-seed", percentage: 85))])
        h85.send([TestSpan(traceID: id, spanID: spanID(1), name: "op", start: 1, end: 2)], at: 0)
        h85.tick(10 * second)
        #expect(h85.emittedTraceIDs.isEmpty)
    }

    /// The token bucket starts full (burst) and refills at spans_per_second.
    @Test func rateLimitingIsATokenBucketOnTheInjectedClock() throws {
        let h = try TailHarness(policies: [policy("rl", .rateLimiting(spansPerSecond: 2, burst: 4))])
        for t in 1...5 { h.send([span(t, 1), span(t, 2)], at: 10 * second) }   // 5 traces of 2 spans
        h.tick(15 * second)
        #expect(Set(h.emittedTraceIDs) == Set([hexID(1), hexID(2)]))
        h.emitted = []
        // One second later two tokens are back: one more trace of two spans.
        for t in 6...7 { h.send([span(t, 1), span(t, 2)], at: 11 * second) }
        h.tick(16 * second)
        #expect(Set(h.emittedTraceIDs) == Set([hexID(6)]))
    }
}
