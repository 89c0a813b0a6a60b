import CollectorCore
import CollectorTesting
import Synchronization
import Testing
@testable import TailSampling

/// Holding, decision timing, late spans, bounds and handover, on an injected clock.
@Suite struct LifecycleTests {
    let errors = [policy("errors", .statusCode([2]))]

    @Test func decidedOnlyOnceDecisionWaitHasPassed() throws {
        let h = try TailHarness(policies: errors)
        h.send([span(1, 1)], at: 100 * second)
        h.send([span(1, 2, status: 2)], at: 103 * second)   // same trace, later
        #expect(h.sampler.nextDeadline == 105 * second)
        h.tick(105 * second - 1)
        #expect(h.emitted.isEmpty && h.sampler.heldTraceCount == 1)
        h.tick(105 * second)
        #expect(h.emittedTraceIDs == [hexID(1), hexID(1)])
        #expect(h.sampler.heldTraceCount == 0 && h.sampler.heldByteCount == 0)
        #expect(h.sampler.nextDeadline == nil)
    }

    @Test func lateSpansFollowTheDecision() throws {
        let h = try TailHarness(policies: errors)
        let outcomes = Mutex<[ComponentError?]>([])
        func token() -> AckToken { AckToken { e in outcomes.withLock { $0.append(e) } } }
        h.send([span(1, 1, status: 2)], at: 0, token: token())
        h.send([span(2, 1)], at: 0, token: token())
        #expect(outcomes.withLock { $0.count } == 2)   // held in memory: acknowledged on receipt
        h.tick(5 * second)
        h.emitted = []
        // Late spans: trace 1 (sampled) passes at once with its request's token; trace 2 is dropped.
        let late = token()
        h.send([span(1, 9), span(2, 9)], at: 7 * second, token: late)
        #expect(h.emittedTraceIDs == [hexID(1)])
        #expect(h.emitted[0].tokens.count == 1)
        #expect(h.sampler.heldTraceCount == 0)
        #expect(h.counter("otelcol_processor_tail_sampling_early_releases_from_cache_decision_total", [("sampled", "true")]) == 1)
        #expect(h.counter("otelcol_processor_tail_sampling_early_releases_from_cache_decision_total", [("sampled", "false")]) == 1)
        h.emitted[0].complete()
        #expect(outcomes.withLock { $0.count } == 3)
    }

    /// When num_traces are held, the oldest is decided early (counted), never dropped undecided.
    @Test func fullHoldDecidesTheOldestEarly() throws {
        let h = try TailHarness(policies: [policy("all", .alwaysSample)]) { $0.numTraces = 3 }
        for t in 1...5 { h.send([span(t, 1)], at: UInt64(t) * second) }
        #expect(h.emittedTraceIDs == [hexID(1), hexID(2)])
        #expect(h.sampler.heldTraceCount == 3)
        #expect(h.counter("collectord_processor_tail_sampling_early_decisions_total", [("reason", "num_traces")]) == 2)
        #expect(h.counter("otelcol_processor_tail_sampling_new_trace_id_received_total", []) == 5)
        h.tick(100 * second)
        #expect(h.emittedTraceIDs == (1...5).map(hexID))
    }

    @Test func byteBoundDecidesTheOldestEarly() throws {
        let h = try TailHarness(policies: [policy("all", .alwaysSample)]) { $0.maxHeldBytes = 1 << 20 }
        let big: [String: TestValue] = ["blob": .string(String(repeating: "x", count: 300_000))]
        for t in 1...4 { h.send([span(t, 1, attributes: big)], at: 0) }
        #expect(h.sampler.heldByteCount <= 1 << 20)
        #expect(h.emittedTraceIDs == [hexID(1)])
        #expect(h.counter("collectord_processor_tail_sampling_early_decisions_total", [("reason", "memory")]) == 1)
    }

    /// A changed tail_sampling takes its predecessor's traces and decides them by its own
    /// policies, at their original time.
    @Test func handOverKeepsHeldTracesForTheNewPolicies() throws {
        let old = try TailHarness(policies: [policy("all", .alwaysSample)])
        old.send([span(1, 1), span(1, 2, status: 2)], at: 10 * second)
        old.send([span(2, 1)], at: 11 * second)
        let new = try TailHarness(policies: errors)
        new.send([span(3, 1, status: 2)], at: 12 * second)
        #expect(old.sampler.handOver(to: new.sampler, now: 12 * second))
        #expect(old.sampler.heldTraceCount == 0)
        #expect(new.sampler.heldTraceCount == 3)
        #expect(new.sampler.nextDeadline == 15 * second)
        new.tick(16 * second)
        #expect(new.emittedTraceIDs == [hexID(1), hexID(1)])
        new.tick(17 * second)
        #expect(new.emittedTraceIDs == [hexID(1), hexID(1), hexID(3)])
        #expect(new.counter("collectord_processor_tail_sampling_handed_over_traces_total", []) == 2)
    }

    @Test func flushDecidesEverythingHeld() throws {
        let h = try TailHarness(policies: [policy("all", .alwaysSample)])
        h.send([span(1, 1)], at: 0)
        h.send([span(2, 1)], at: 0)
        h.sampler.flush { h.emitted.append($0) }
        #expect(h.emittedTraceIDs == [hexID(1), hexID(2)])
        #expect(h.counter("collectord_processor_tail_sampling_early_decisions_total", [("reason", "shutdown")]) == 2)
    }
}
