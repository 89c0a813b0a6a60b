@testable import CollectorCore
import Dispatch
import Synchronization
import Testing

private final class Made: Sendable {
    let part: Int
    let serial: Int
    init(part: Int, serial: Int) {
        self.part = part
        self.serial = serial
    }
}

private struct Broken: Error, Equatable {}

/// An exporter that reads spans, recording the memo each batch came with.
private final class SpanReader: Exporter {
    let spanAttributeKeys: [String]?
    let memos = Mutex<[BatchMemo?]>([])
    init(_ keys: [String]) { spanAttributeKeys = keys }
    func start() throws {}
    func export(_ batch: TelemetryBatch) throws(ComponentError) { memos.withLock { $0.append(batch.memo) } }
    func shutdown() {}
}

@Suite struct BatchMemoTests {
    @Test func aResultIsMadeOnceAndForgottenOnceEveryReaderTookIt() {
        let memo = BatchMemo(attributeKeys: ["k"], readers: 3)
        let makes = Mutex(0)
        func take(_ part: Int) -> Made {
            memo.shared(part: part) { () -> Made in
                makes.withLock { $0 += 1 }
                return Made(part: part, serial: makes.withLock { $0 })
            }
        }
        let first = take(0)
        #expect(memo.kept == 1)
        let other = take(1)
        #expect(memo.kept == 2)
        #expect(take(0) === first)
        #expect(memo.kept == 2)
        #expect(take(0) === first)
        // The third reader took part 0: it is forgotten, part 1 is still kept.
        #expect(memo.kept == 1)
        #expect(makes.withLock { $0 } == 2)
        #expect(take(1) === other && take(1) === other)
        #expect(memo.kept == 0)
        // Asked again (a reader counted twice): made again, never wrong.
        let again = take(0)
        #expect(again !== first && again.part == 0 && again.serial == 3)
    }

    @Test func aMakeThatThrowsKeepsNothing() throws {
        let memo = BatchMemo(attributeKeys: [], readers: 3)
        #expect(throws: Broken()) { try memo.shared(part: 0) { () throws(Broken) -> Made in throw Broken() } }
        #expect(memo.kept == 0)
        let made = try memo.shared(part: 0) { () throws(Broken) -> Made in Made(part: 0, serial: 1) }
        #expect(memo.kept == 1)
        // The third and last reader takes it; the failed one asked already.
        #expect(try memo.shared(part: 0) { () throws(Broken) -> Made in throw Broken() } === made)
        #expect(memo.kept == 0)
    }

    /// Memos sharing a budget keep at most its limit of results: past it the later readers
    /// make their own, and a memo that goes gives back what it still kept.
    @Test func aBudgetBoundsWhatMemosKeep() {
        let budget = BatchMemo.Budget(limit: 2)
        let makes = Mutex(0)
        func take(_ memo: BatchMemo, _ part: Int) -> Made {
            memo.shared(part: part) { () -> Made in
                makes.withLock { $0 += 1 }
                return Made(part: part, serial: makes.withLock { $0 })
            }
        }
        let one = BatchMemo(attributeKeys: [], readers: 2, budget: budget)
        var two: BatchMemo? = BatchMemo(attributeKeys: [], readers: 2, budget: budget)
        let a = take(one, 0)
        _ = take(two!, 0)
        #expect(budget.count == 2)
        let c = take(one, 1)   // over the budget: not kept
        #expect(budget.count == 2 && one.kept == 1)
        #expect(take(one, 1) !== c && makes.withLock { $0 } == 4)
        #expect(take(one, 0) === a)
        #expect(budget.count == 1 && one.kept == 0)
        two = nil              // its kept result goes with it
        #expect(budget.count == 0)
        _ = two
    }

    /// Two readers on two threads, each taking every part in order: each part is made once and
    /// both get the same result.
    @Test func concurrentReadersShareEveryPart() {
        let memo = BatchMemo(attributeKeys: [], readers: 2)
        let makes = Atomic<Int>(0)
        let seen = Mutex<[[ObjectIdentifier]]>([[], []])
        DispatchQueue.concurrentPerform(iterations: 2) { reader in
            for part in 0..<500 {
                let made = memo.shared(part: part) { () -> Made in
                    makes.add(1, ordering: .relaxed)
                    return Made(part: part, serial: 0)
                }
                #expect(made.part == part)
                seen.withLock { $0[reader].append(ObjectIdentifier(made)) }
            }
        }
        #expect(makes.load(ordering: .relaxed) == 500)
        #expect(seen.withLock { $0[0] == $0[1] })
        #expect(memo.kept == 0)
    }

    @Test func aPlanNeedsTwoSpanReadersOfTraces() {
        let a = SpanReader(["b", "a"]), b = SpanReader(["a", "c"]), plain = RecordingExporter()
        let plan = BatchMemo.plan(for: [a, plain, b], signal: .traces)
        #expect(plan?.keys == ["a", "b", "c"])
        #expect(plan?.readers == 2)
        #expect(BatchMemo.plan(for: [a, plain], signal: .traces) == nil)
        #expect(BatchMemo.plan(for: [a, b], signal: .logs) == nil)
        #expect(BatchMemo.plan(for: [SpanReader([]), SpanReader([])], signal: .traces)?.keys == [])
    }

    /// The fan-out hands every span reader of a batch the same fresh memo, and clears a memo a
    /// batch came with when it has fewer than two readers.
    @Test func theFanOutAttachesOneMemoPerBatch() async throws {
        let metrics = MetricsRegistry()
        func pipeline(_ exporters: [any Exporter]) throws -> Pipeline {
            let stages = exporters.enumerated().map { i, e in
                ExporterStage(name: "e/\(i)", signal: .traces, exporter: e, capacity: 4, metrics: metrics, logger: .discarding)
            }
            let p = Pipeline(name: "traces", signal: .traces, processors: [], exporters: stages, capacity: 4, metrics: metrics,
                             logger: .discarding)
            try p.start()
            return p
        }
        let a = SpanReader(["x"]), b = SpanReader(["y", "x"]), plain = RecordingExporter()
        let shared = try pipeline([a, plain, b])
        try shared.entry.consume(TelemetryBatch(signal: .traces, payload: [1], itemCount: 1))
        try shared.entry.consume(TelemetryBatch(signal: .traces, payload: [2], itemCount: 1))
        #expect(await waitUntil { a.memos.withLock { $0.count } == 2 && b.memos.withLock { $0.count } == 2 })
        let first = try #require(a.memos.withLock { $0[0] }), second = try #require(a.memos.withLock { $0[1] })
        #expect(b.memos.withLock { $0[0] } === first && b.memos.withLock { $0[1] } === second)
        #expect(first !== second)
        #expect(first.attributeKeys == ["x", "y"] && first.readers == 2)

        let alone = SpanReader(["x"])
        let single = try pipeline([alone, plain])
        var stale = TelemetryBatch(signal: .traces, payload: [3], itemCount: 1)
        stale.memo = first
        try single.entry.consume(stale)
        #expect(await waitUntil { alone.memos.withLock { $0.count } == 1 })
        #expect(alone.memos.withLock { $0[0] } == nil)
    }
}
