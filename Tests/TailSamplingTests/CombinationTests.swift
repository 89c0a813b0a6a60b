import CollectorCore
import CollectorTesting
import Testing
@testable import TailSampling

/// How policies combine: drop wins, then inverted not-sampled, then sampled, then inverted
/// sampled when nobody said no; and/drop/not/composite as upstream.
@Suite struct CombinationTests {
    @Test func combineOrder() {
        #expect(Decision.combine([.sampled, .dropped]) == .dropped)
        #expect(Decision.combine([.sampled, .invertNotSampled]) == .notSampled)
        #expect(Decision.combine([.notSampled, .sampled]) == .sampled)
        #expect(Decision.combine([.invertSampled]) == .sampled)
        #expect(Decision.combine([.invertSampled, .notSampled]) == .notSampled)
        #expect(Decision.combine([]) == .notSampled)
    }

    let errorSpan = span(1, 1, attributes: ["env": .string("dev")], status: 2)
    let okSpan = span(2, 1, attributes: ["env": .string("prod")])

    func run(_ policies: [PolicySettings], _ configure: (inout TailSamplingSettings) -> Void = { _ in }) throws -> (TailHarness, Set<String>) {
        let h = try TailHarness(policies: policies, configure)
        h.send([errorSpan], at: 0)
        h.send([okSpan], at: 0)
        h.tick(5 * second)
        return (h, Set(h.emittedTraceIDs))
    }

    @Test func dropWinsOverEverything() throws {
        let dropDev = policy("drop-dev", .drop([policy("dev", .stringAttribute(key: "env", values: ["dev"], regex: false, invert: false))]))
        let (h, ids) = try run([policy("errors", .statusCode([2])), policy("all", .alwaysSample), dropDev])
        #expect(ids == [hexID(2)])
        // Drop policies run first and stop evaluation: "errors" and "all" never saw trace 1.
        #expect(h.counter("otelcol_processor_tail_sampling_count_traces_sampled_total", [("policy", "drop-dev"), ("decision", "dropped")]) == 1)
        #expect(h.counter("otelcol_processor_tail_sampling_count_traces_sampled_total", [("policy", "all"), ("decision", "sampled")]) == 1)
        #expect(h.counter("otelcol_processor_tail_sampling_global_count_traces_sampled_total", [("decision", "dropped")]) == 1)
    }

    @Test func invertedMatchVetoesOtherPolicies() throws {
        let notDev = policy("not-dev", .stringAttribute(key: "env", values: ["dev"], regex: false, invert: true))
        // Trace 1 is an error (sampled by "errors") but matches: the veto wins. Trace 2 is
        // inverted-sampled, but "errors" said not-sampled, so it is not kept either.
        #expect(try run([policy("errors", .statusCode([2])), notDev]).1 == [])
        // Alone, the inverted policy keeps what does not match.
        #expect(try run([notDev]).1 == [hexID(2)])
    }

    @Test func andNeedsEverySubPolicyAndNotFlips() throws {
        let both = policy("dev-errors", .and([policy("e", .statusCode([2])),
                                              policy("d", .stringAttribute(key: "env", values: ["dev"], regex: false, invert: false))]))
        #expect(try run([both]).1 == [hexID(1)])
        let prodOnly = policy("not-error", .not(policy("e", .statusCode([2]))))
        #expect(try run([prodOnly]).1 == [hexID(2)])
    }

    @Test func sampleOnFirstMatchStopsEvaluating() throws {
        let (h, _) = try run([policy("all", .alwaysSample), policy("errors", .statusCode([2]))]) { $0.sampleOnFirstMatch = true }
        #expect(h.counter("otelcol_processor_tail_sampling_count_traces_sampled_total", [("policy", "errors")]) == 0)
        #expect(h.counter("otelcol_processor_tail_sampling_count_traces_sampled_total", [("policy", "all"), ("decision", "sampled")]) == 2)
    }

    /// Composite: sub-policies in list order, the first that samples decides within its share
    /// of max_total_spans_per_second (per second of the clock); absent shares are equal parts.
    @Test func compositeAllocatesRatesPerSubPolicy() throws {
        let composite = policy("c", .composite(maxTotalSpansPerSecond: 10, subPolicies: [
            policy("errors", .statusCode([2])),
            policy("rest", .alwaysSample),
        ], allocation: ["errors": 60]))
        let h = try TailHarness(policies: [composite])
        // 5 error traces and 8 others of 2 spans each, all arriving in one second.
        for t in 1...5 { h.send([span(t, 1, status: 2), span(t, 2)], at: 10 * second) }
        for t in 6...13 { h.send([span(t, 1), span(t, 2)], at: 10 * second) }
        h.tick(15 * second)
        // errors: 60% of 10 = 6 spans = 3 traces; rest: 10 / 2 = 5 spans = 2 traces.
        #expect(Set(h.emittedTraceIDs) == Set([1, 2, 3, 6, 7].map(hexID)))
        // The next second has fresh budgets.
        h.emitted = []
        for t in 20...21 { h.send([span(t, 1, status: 2), span(t, 2)], at: 11 * second) }
        h.tick(16 * second + 1)
        #expect(Set(h.emittedTraceIDs) == Set([20, 21].map(hexID)))
    }
}
