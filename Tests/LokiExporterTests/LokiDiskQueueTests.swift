import CollectorCore
import Foundation
import Glibc
@testable import ExporterHelper
@testable import LokiExporter
import Testing

extension LokiSuites {
    @Suite struct DiskQueueMode {
        func temporaryDirectory() -> String {
            NSTemporaryDirectory() + "loki-queue-\(UUID().uuidString)"
        }

        func settings(_ loki: FakeLoki, storage: String) -> LokiSettings {
            var s = LokiSettings()
            s.endpoint = loki.endpoint
            s.storage = storage
            s.batchTimeout = 10_000_000
            s.batchMaxBytes = 4096
            s.timeout = 1_000_000_000
            s.retry.initialInterval = 20_000_000
            s.retry.maxInterval = 100_000_000
            s.shutdownTimeout = 500_000_000
            return s
        }

        func export(_ exporter: LokiExporter, batches: Range<Int>) throws {
            for i in batches {
                let records = (0..<3).map { TestRecord(time: UInt64(1_700_000_000_000_000_000 + i * 10 + $0), body: "line-\(i)-\($0)") }
                try exporter.export(logsBatch(try logsPayload(records), count: 3))
            }
        }

        func expected(_ batches: Range<Int>) -> [String] {
            batches.flatMap { i in (0..<3).map { "line-\(i)-\($0)" } }
        }

        @Test func connectionRefusedThenLokiComesUpLosesNothing() throws {
            let loki = try FakeLoki()
            let storage = temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: storage) }
            let registry = MetricsRegistry()
            let exporter = try LokiExporter(settings: settings(loki, storage: storage), logger: .discarding, metrics: registry)
            try exporter.start()
            try export(exporter, batches: 0..<20)
            usleep(300_000)
            try loki.start()
            defer { loki.stop() }
            let all = expected(0..<20)
            loki.wait { loki.acceptedLines().count >= all.count }
            exporter.shutdown()
            #expect(loki.acceptedLines().sorted() == all.sorted())
            #expect(registry.counter("collectord_loki_requests_total", help: "", labels: [("exporter", "loki"), ("status", "error")]).current >= 1)
            #expect(registry.counter("collectord_loki_sent_entries_total", help: "", labels: [("exporter", "loki")]).current == UInt64(all.count))
            #expect(loki.requests().count > 1, "batch_max_bytes did not split the backlog")
        }

        @Test func queueSurvivesARestartAndDeliversExactlyOnce() throws {
            let loki = try FakeLoki()
            let storage = temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: storage) }
            let first = try LokiExporter(settings: settings(loki, storage: storage), logger: .discarding, metrics: MetricsRegistry())
            try first.start()
            try export(first, batches: 0..<10)
            first.shutdown()  // Loki is down: everything stays on disk

            try loki.start()
            defer { loki.stop() }
            let registry = MetricsRegistry()
            let second = try LokiExporter(settings: settings(loki, storage: storage), logger: .discarding, metrics: registry)
            #expect(registry.render().contains("otelcol_exporter_queue_size{exporter=\"loki\"} 10"))
            try second.start()
            try export(second, batches: 10..<15)
            let all = expected(0..<15)
            loki.wait { loki.acceptedLines().count >= all.count }
            second.shutdown()

            let third = try LokiExporter(settings: settings(loki, storage: storage), logger: .discarding, metrics: MetricsRegistry())
            try third.start()
            usleep(300_000)
            third.shutdown()
            #expect(loki.acceptedLines().sorted() == all.sorted())
            #expect(Set(loki.acceptedLines()).count == loki.acceptedLines().count, "duplicates")
        }

        @Test func badRequestInTheQueueIsDroppedAndTheRestFlows() throws {
            let loki = try FakeLoki()
            try loki.start(script: "400")
            defer { loki.stop() }
            let storage = temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: storage) }
            let registry = MetricsRegistry()
            var s = settings(loki, storage: storage)
            s.batchMaxBytes = 1024
            let exporter = try LokiExporter(settings: s, logger: .discarding, metrics: registry)
            try exporter.start()
            try export(exporter, batches: 0..<1)
            loki.wait { loki.requests().count == 1 }
            try export(exporter, batches: 1..<2)
            loki.wait { loki.acceptedLines().count == 3 }
            exporter.shutdown()
            #expect(loki.requests().map(\.status) == [400, 204])
            #expect(loki.acceptedLines() == expected(1..<2))
            #expect(registry.counter("collectord_loki_dropped_entries_total", help: "", labels: [("exporter", "loki")]).current == 3)
        }

        @Test func corruptTailIsTruncatedOnRecovery() throws {
            let storage = temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: storage) }
            do {
                let queue = try DiskQueue(directory: storage, segmentMaxBytes: 1 << 20, sync: true)
                for i in 0..<3 { try queue.append(Array("record-\(i)".utf8)) }
                queue.close()
            }
            // A torn write: half a frame header at the end of the last segment.
            let segments = try DiskQueue.segments(storage)
            let last = storage + "/" + segments.last!.1
            let handle = try #require(FileHandle(forWritingAtPath: last))
            handle.seekToEndOfFile()
            handle.write(Data([9, 0, 0, 0, 1, 2]))
            handle.closeFile()

            let reopened = try DiskQueue(directory: storage, segmentMaxBytes: 1 << 20, sync: true)
            #expect(reopened.size.records == 3)
            #expect(reopened.corruptBytes == 6)
            try reopened.append(Array("record-3".utf8))
            #expect(try reopened.peek(maxBytes: 1 << 20).map { String(decoding: $0, as: UTF8.self) }
                    == ["record-0", "record-1", "record-2", "record-3"])
            try reopened.commit(count: 2)
            reopened.close()

            // A flipped payload byte (bad CRC) in the last segment ends it there too.
            let again = try DiskQueue.segments(storage)
            let newest = storage + "/" + again.last!.1
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: newest)))
            bytes[bytes.count - 1] ^= 0xFF
            try Data(bytes).write(to: URL(fileURLWithPath: newest))

            let third = try DiskQueue(directory: storage, segmentMaxBytes: 1 << 20, sync: true)
            #expect(try third.peek(maxBytes: 1 << 20).map { String(decoding: $0, as: UTF8.self) } == ["record-2"])
            third.close()
        }

        @Test func segmentsRollAndConsumedOnesAreDeleted() throws {
            let storage = temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: storage) }
            let queue = try DiskQueue(directory: storage, segmentMaxBytes: 4096, sync: false)
            let record = [UInt8](repeating: 7, count: 1000)
            for _ in 0..<10 { try queue.append(record) }
            #expect(try DiskQueue.segments(storage).count >= 3)
            try queue.commit(count: 10)
            #expect(try DiskQueue.segments(storage).count == 1)
            #expect(queue.size.records == 0 && queue.size.bytes == 0)
            queue.close()
            let reopened = try DiskQueue(directory: storage, segmentMaxBytes: 4096, sync: false)
            #expect(reopened.size.records == 0)
            reopened.close()
        }
    

        /// Two queues on one directory would send everything twice: the second is refused
        /// until the first is closed.
        @Test func aDirectoryHasOneQueueAtATime() throws {
            let storage = temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: storage) }
            let first = try DiskQueue(directory: storage, segmentMaxBytes: 4096, sync: false)
            #expect {
                _ = try DiskQueue(directory: storage, segmentMaxBytes: 4096, sync: false)
            } throws: { error in
                "\(error)".contains("is in use by another loki exporter")
            }
            first.close()
            let second = try DiskQueue(directory: storage, segmentMaxBytes: 4096, sync: false)
            second.close()
        }
    }
}
