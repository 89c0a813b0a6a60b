import CollectorCore
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import FileLogReceiver

/// A pipeline that takes batches and then fails them with a retryable error (the memory limiter
/// refusing, an exporter giving up for now): the tailer sends them again with a growing delay
/// instead of at once, pauses reading at its in-flight bound, and once batches go through
/// every line arrives exactly once.
@Suite struct RetryableFailureTests {
    /// Takes every batch; while `failing`, completes it with a retryable error and notes when
    /// each batch (by its first line) was offered; otherwise hands it to a `FakeConsumer`.
    final class RefusingConsumer: Consumer {
        let inner = FakeConsumer()
        let failing = Atomic<Bool>(true)
        /// When each batch was offered, and its record count, by its first line.
        let attempts = Mutex<[Int: [UInt64]]>([:])
        let counts = Mutex<[Int: Int]>([:])

        func consume(_ batch: TelemetryBatch) throws(ComponentError) {
            guard failing.load(ordering: .relaxed) else { return try inner.consume(batch) }
            let first = (try? FakeConsumer.decode(batch.payload).get())?.first.map { lineNumbers([$0.body]) } ?? []
            let now = DispatchTime.now().uptimeNanoseconds
            attempts.withLock { $0[first.first ?? -1, default: []].append(now) }
            counts.withLock { $0[first.first ?? -1] = batch.itemCount }
            batch.complete(.retryable("data refused due to high memory usage"))
        }
    }

    @Test func refusedBatchesAreSentAgainWithABackoffAndNothingIsLost() throws {
        let dir = TempDir()
        let file = dir.sub("app.log")
        Files.append(file, Files.lines(0..<5000))   // ~175 KB
        var s = Harness.settings(dir, include: [file])
        s.maxInFlightBytes = 16 << 10
        let consumer = RefusingConsumer()
        let h = try Harness(s, consumer: consumer.inner, pipeline: consumer)
        defer { h.stop() }

        // The first batch is offered again after 100, 200 and 400 ms at least: no loop.
        #expect(eventually { consumer.attempts.withLock { $0[0]?.count ?? 0 } >= 4 })
        let times = consumer.attempts.withLock { $0[0] ?? [] }
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        for (gap, least) in zip(gaps, [100_000_000, 200_000_000, 400_000_000] as [UInt64]) {
            #expect(gap >= least, "resent after \(gap / 1_000_000) ms, expected at least \(least / 1_000_000) ms")
        }
        // Reading paused at the bound (twice it with the stall overdraft, plus a read chunk).
        let offered = consumer.attempts.withLock { $0.keys.max() ?? 0 }
        #expect(offered > 0 && offered < 4000, "batches up to line \(offered) offered while refused")
        #expect(h.consumer.records.isEmpty)
        // Every refusal is counted once its acknowledgement reached the tailer's queue.
        #expect(eventually {
            h.counter("collectord_filelog_ack_failures_total") == UInt64(consumer.attempts.withLock { $0.values.reduce(0) { $0 + $1.count } })
        })

        consumer.failing.store(false, ordering: .relaxed)
        #expect(eventually { h.consumer.records.count >= 5000 })
        Thread.sleep(forTimeInterval: 0.1)
        let numbers = lineNumbers(h.consumer.bodies)
        #expect(numbers.count == 5000)
        #expect(numbers.sorted() == Array(0..<5000))
        // One warning for the whole refusal, one line when deliveries succeed again.
        let lines = h.log.lines.withLock { $0 }
        #expect(lines.filter { $0.hasPrefix("warn:") } == [
            "warn: delivery of \(consumer.counts.withLock { $0[0] ?? 0 }) log records failed (data refused due to high memory usage); sending them again, with a backoff while failures go on",
        ])
        #expect(lines.filter { $0.contains("delivery succeeds again") }.count == 1, "\(lines)")
    }
}
