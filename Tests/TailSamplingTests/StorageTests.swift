import CollectorCore
import CollectorTesting
import Foundation
import Synchronization
import Testing
@testable import TailSampling

/// The storage hold: acknowledgement after the sync, replay after a crash, frames kept until
/// the exporters took a sampled trace, memory that does not grow with what is held.
@Suite struct StorageTests {
    let errors = [policy("errors", .statusCode([2]))]

    final class Outcomes: Sendable {
        let results = Mutex<[ComponentError?]>([])
        func token() -> AckToken { AckToken { e in self.results.withLock { $0.append(e) } } }
        var count: Int { results.withLock { $0.count } }
    }

    /// A "crash": the sampler and its registry are dropped without a flush or a decision; a
    /// new process (registry) on the same directory replays the hold and decides every trace.
    @Test func replayAfterACrashDecidesEveryHeldTrace() throws {
        let dir = try TemporaryDirectory(prefix: "tail-hold")
        let outcomes = Outcomes()
        do {
            let h = try TailHarness(policies: errors, logs: HoldLogRegistry()) { $0.storage = dir.path }
            for t in 1...20 { h.send([span(t, 1, status: t % 2 == 0 ? 2 : 0), span(t, 2)], at: 0, token: outcomes.token()) }
            #expect(outcomes.count == 20)   // acknowledged once synced
            #expect(h.emitted.isEmpty)
        }
        do {
            let h = try TailHarness(policies: errors, logs: HoldLogRegistry(), clock: FixedClock(50 * second)) { $0.storage = dir.path }
            #expect(h.sampler.heldTraceCount == 20)
            #expect(h.counter("collectord_processor_tail_sampling_replayed_traces_total", []) == 20)
            h.tick(55 * second - 1)
            #expect(h.emitted.isEmpty)   // decision_wait starts again at the replay
            h.tick(55 * second)
            let expected = (1...20).filter { $0 % 2 == 0 }.flatMap { [hexID($0), hexID($0)] }
            #expect(h.emittedTraceIDs.sorted() == expected.sorted())
        }
        // Crash again before an exporter acknowledged: the 10 sampled traces come back, the 10
        // decided not-sampled do not.
        let again = try TailHarness(policies: errors, logs: HoldLogRegistry()) { $0.storage = dir.path }
        #expect(again.sampler.heldTraceCount == 10)
    }

    @Test func sampledFramesStayUntilTheExportersAcknowledge() throws {
        let dir = try TemporaryDirectory(prefix: "tail-hold")
        do {
            let h = try TailHarness(policies: errors, logs: HoldLogRegistry()) { $0.storage = dir.path }
            h.send([span(1, 1, status: 2)], at: 0)
            h.send([span(2, 1)], at: 0)
            h.tick(5 * second)
            #expect(h.emittedTraceIDs == [hexID(1)])
            // Crash before the exporter answered: trace 1 comes back, trace 2 (not sampled) does not.
        }
        do {
            let h = try TailHarness(policies: errors, logs: HoldLogRegistry()) { $0.storage = dir.path }
            #expect(h.sampler.heldTraceCount == 1)
            h.tick(5 * second)
            #expect(h.emittedTraceIDs == [hexID(1)])
            h.emitted.forEach { $0.complete() }   // the exporters took it
            h.send([span(3, 1)], at: 6 * second)   // the next append writes the decided frame
        }
        let h = try TailHarness(policies: errors, logs: HoldLogRegistry()) { $0.storage = dir.path }
        #expect(h.sampler.heldTraceCount == 1)   // only trace 3
        h.tick(5 * second)
        #expect(h.emittedTraceIDs.isEmpty)
    }

    /// 200,000 held traces keep no span bytes in memory; the log holds them on disk and the
    /// segments are deleted once everything in them is decided.
    @Test func heldSpansLiveOnDiskNotInMemory() async throws {
        try await offThePool { try Self.holdTwoHundredThousand() }
    }

    static func holdTwoHundredThousand() throws {
        let errors = [policy("errors", .statusCode([2]))]
        let dir = try TemporaryDirectory(prefix: "tail-hold")
        let h = try TailHarness(policies: errors, logs: HoldLogRegistry()) {
            $0.storage = dir.path
            $0.numTraces = 250_000
        }
        let batch = 1_000
        for b in 0..<(200_000 / batch) {
            h.send((0..<batch).map { span(b * batch + $0 + 1, 1, status: $0 == 0 ? 2 : 0) }, at: 0)
        }
        #expect(h.sampler.heldTraceCount == 200_000)
        #expect(h.sampler.memoryHeldBytes == 0)
        #expect(h.sampler.heldByteCount > 20_000_000)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".wal") }
        #expect(files.count >= 1)
        h.tick(5 * second)
        #expect(h.emittedTraceIDs.count == 200)
        h.emitted.forEach { $0.complete() }
        h.send([span(999_999, 1)], at: 6 * second)
        #expect(h.sampler.log!.segmentCount == 1)   // only the active segment is left
    }

    @Test func aDirectoryHasOneHoldPerProcessAndIsShared() throws {
        let dir = try TemporaryDirectory(prefix: "tail-hold")
        let registry = HoldLogRegistry()
        let a = try registry.acquire(dir.path)
        let b = try registry.acquire(dir.path)
        #expect(a === b)
        // Another process (registry) is refused while this one holds the lock.
        #expect(throws: (any Error).self) { _ = try HoldLogRegistry().acquire(dir.path) }
        registry.release(dir.path)
        registry.release(dir.path)
    }
}
