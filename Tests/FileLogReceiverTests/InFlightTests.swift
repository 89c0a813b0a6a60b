import CollectorCore
import Foundation
import Synchronization
import Testing
@testable import FileLogReceiver

/// The in-flight bound: reading pauses at `maxInFlightBytes` without losing anything, and a
/// pipeline that only sends once it holds more than the bound still gets its data.
@Suite struct InFlightTests {
    /// While reading is paused by the bound (acknowledgements held back), a file renamed away
    /// from the globs stays open past `rotateWait` until it has been read to its end.
    @Test func aFileRenamedAwayWhileReadingIsPausedIsReadToItsEnd() throws {
        let dir = TempDir()
        let file = dir.sub("app.log")
        Files.append(file, Files.lines(0..<20_000))   // ~700 KB
        var s = Harness.settings(dir, include: [dir.sub("app.log")])
        s.maxInFlightBytes = 8 << 10
        s.rotateWait = 200_000_000
        let consumer = FakeConsumer()
        consumer.state.withLock { $0.holdAcks = true }
        let h = try Harness(s, consumer: consumer)
        defer { h.stop() }
        // Paused at the bound (with its stall overdraft, at most 2x, and a read chunk of 64 KiB
        // past it): far from the whole file.
        #expect(eventually { h.consumer.records.count > 0 })
        Thread.sleep(forTimeInterval: 0.5)
        let before = h.consumer.records.count
        #expect(before < 5000, "read \(before) lines with acknowledgements held")
        try FileManager.default.moveItem(atPath: file, toPath: file + ".1")   // no glob matches it
        Thread.sleep(forTimeInterval: 0.8)   // four times rotateWait, idle: reading is paused
        let held = consumer.state.withLock { s -> [TelemetryBatch] in
            s.holdAcks = false
            defer { s.held = [] }
            return s.held
        }
        for batch in held { batch.complete() }
        #expect(eventually { h.consumer.records.count >= 20_000 })
        Thread.sleep(forTimeInterval: 0.1)
        #expect(lineNumbers(h.consumer.bodies) == Array(0..<20_000))
    }

    /// Acknowledges only once it holds `threshold` payload bytes, like a batch processor whose
    /// send_batch_size is more than the tailer's bound.
    final class ThresholdConsumer: Consumer {
        let inner = FakeConsumer()
        let threshold: Int
        let pending = Mutex<(bytes: Int, batches: [TelemetryBatch])>((0, []))
        init(threshold: Int) { self.threshold = threshold }

        func consume(_ batch: TelemetryBatch) throws(ComponentError) {
            inner.state.withLock { $0.holdAcks = true }
            try inner.consume(batch)
            let ready = pending.withLock { p -> [TelemetryBatch] in
                p.bytes += batch.payload.count
                p.batches.append(batch)
                guard p.bytes >= threshold else { return [] }
                defer { p = (0, []) }
                return p.batches
            }
            for b in ready { b.complete() }
        }
    }

    @Test func aPipelineWaitingForMoreThanTheBoundStillGetsItsData() throws {
        let dir = TempDir()
        Files.append(dir.sub("app.log"), Files.lines(0..<40_000))   // ~1.4 MB, ~2.8 MB encoded
        var s = Harness.settings(dir, include: [dir.sub("*.log")])
        s.maxInFlightBytes = 256 << 10
        // More than the bound plus the one 64 KiB read that may pass it (~130 KiB encoded),
        // less than the 2x the overdraft allows.
        let consumer = ThresholdConsumer(threshold: 450 << 10)
        let metrics = MetricsRegistry()
        let receiver = FileLogReceiver(name: "filelog", settings: s, metrics: metrics, logger: .discarding)
        receiver.setConsumer(consumer, for: .logs)
        try receiver.start()
        defer {
            let done = DispatchSemaphore(value: 0)
            receiver.shutdown(deadline: .now() + 1) { done.signal() }
            done.wait()
        }
        // Without the overdraft the tailer would stop near 256 KiB, and the consumer wait forever.
        #expect(eventually(timeout: 20) { consumer.inner.records.count >= 30_000 })
        #expect(lineNumbers(consumer.inner.bodies).prefix(30_000).elementsEqual(0..<30_000))
        // Granted once and kept (for 10 s), not taken back after every batch: the ~2.8 MB go
        // out in about six batches, each of which waited 100 ms for a new grant when it was
        // taken back (5 grants). A second grant only if this ran for more than 10 s.
        let line = metrics.render().split(separator: "\n").first { $0.hasPrefix("collectord_filelog_in_flight_overdrafts_total{") }
        let grants = line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? -1
        #expect((1...2).contains(grants), "\(String(describing: line))")
    }
}
