import CollectorTesting
import OTLPCodec
import Store
import Synchronization
import Testing

/// Reads under a `ReadBudget`: a trace in many blocks stops at the block bound or the deadline
/// with the spans read so far, a cancelled search stops, and an unbounded read is whole.
@Suite struct ReadBudgetTests {
    /// One trace with one span in each of `blocks` blocks (one append each).
    private func store(blocks: Int, in dir: TempDirectory) throws -> TraceStore {
        let store = try TraceStore(config: testConfig(dir.path))
        for b in 0..<blocks {
            let span = TestSpan(traceID: traceID(7), spanID: spanID(b + 1), parentSpanID: b == 0 ? [] : spanID(1),
                                name: "op\(b)", start: 1_000 + UInt64(b), end: 2_000)
            try store.append(kind: .spans, payload: OTLPBuild.traces([TestResource(service: "svc", items: [span])]), itemCount: 1)
        }
        return store
    }

    @Test func theBlockBoundCutsATraceShort() throws {
        let dir = TempDirectory()
        let store = try store(blocks: 10, in: dir)
        let budget = ReadBudget(maxBlocks: 4)
        let partial = try #require(store.trace(OTLPTraceID(bytes: traceID(7))!, budget: budget))
        #expect(partial.spanCount == 4)
        #expect(budget.stop == .blocks && budget.blocksRead == 4)
        let whole = try #require(store.trace(OTLPTraceID(bytes: traceID(7))!, budget: .unlimited))
        #expect(whole.spanCount == 10)
    }

    /// The clock moves 1 s per reading of it; the deadline is 3.5 s away: three blocks are read
    /// (each admission reads the clock once), then the deadline stops the read.
    @Test func theDeadlineCutsATraceShort() throws {
        let dir = TempDirectory()
        let store = try store(blocks: 10, in: dir)
        let ticks = Atomic<UInt64>(0)
        let clock: @Sendable () -> UInt64 = { ticks.add(1_000_000_000, ordering: .relaxed).newValue }
        let budget = ReadBudget(deadline: 3_500_000_000, clock: clock)
        let partial = try #require(store.trace(OTLPTraceID(bytes: traceID(7))!, budget: budget))
        #expect(partial.spanCount == 3)
        #expect(budget.stop == .deadline)
    }

    @Test func aCancelledSearchStopsWithWhatItFound() throws {
        let dir = TempDirectory()
        let store = try TraceStore(config: testConfig(dir.path))
        for t in 0..<300 {
            try store.append(kind: .spans, payload: OTLPBuild.traces([TestResource(service: "svc", items: traceSpans(t, count: 1, start: 1_000 + UInt64(t)))]),
                             itemCount: 1)
        }
        let budget = ReadBudget()
        budget.cancel()
        #expect(store.search(service: "svc", limit: 0, budget: budget).isEmpty)
        #expect(budget.stop == .cancelled)
        let probe = Atomic<Int>(0)
        // Cancelled by its third poll: polls come at the segment's start, then every 64 candidates,
        // so candidates 1...127 were examined (and all match).
        let polled = ReadBudget(cancelled: { probe.add(1, ordering: .relaxed).newValue > 2 })
        let found = store.search(service: "svc", limit: 0, budget: polled)
        #expect(polled.stop == .cancelled)
        #expect(found.count == 127)
        #expect(store.search(service: "svc", limit: 0).count == 300)
    }
}
