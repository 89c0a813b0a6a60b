import CollectorCore
import Foundation
@testable import LokiExporter
import Testing

extension LokiSuites {
    /// Pushes reuse one kept-alive connection, and a kept connection the server closed in the
    /// meantime is replaced without a failed push.
    @Suite struct KeepAlive {
        func settings(_ loki: FakeLoki) -> LokiSettings {
            var s = LokiSettings()
            s.endpoint = loki.endpoint
            s.retry.initialInterval = 20_000_000
            s.retry.maxInterval = 50_000_000
            return s
        }

        @Test func pushesShareOneConnection() throws {
            let loki = try FakeLoki()
            try loki.start()
            defer { loki.stop() }
            let exporter = try LokiExporter(settings: settings(loki), logger: .discarding, metrics: MetricsRegistry())
            try exporter.start()
            for i in 0..<3 {
                try exporter.export(logsBatch(try logsPayload([TestRecord(time: UInt64(i + 1), body: "push \(i)")]), count: 1))
            }
            exporter.shutdown()
            let requests = loki.requests()
            #expect(requests.map(\.status) == [204, 204, 204])
            #expect(Set(requests.compactMap(\.peer)).count == 1, "\(requests.map(\.peer))")
            #expect(loki.acceptedLines() == ["push 0", "push 1", "push 2"])
        }

        @Test func aConnectionClosedByTheServerIsReplacedWithoutAFailedPush() throws {
            let loki = try FakeLoki()
            try loki.start()
            defer { loki.stop() }
            let registry = MetricsRegistry()
            let exporter = try LokiExporter(settings: settings(loki), logger: .discarding, metrics: registry)
            try exporter.start()
            try exporter.export(logsBatch(try logsPayload([TestRecord(time: 1, body: "before")]), count: 1))
            loki.stop()          // the kept connection dies with the server
            try loki.start()     // same port, new process
            try exporter.export(logsBatch(try logsPayload([TestRecord(time: 2, body: "after")]), count: 1))
            exporter.shutdown()
            #expect(loki.acceptedLines() == ["before", "after"])
            let retries = registry.counter("collectord_loki_retries_total", help: "", labels: [("exporter", "loki")]).current
            #expect(retries == 0, "the stale connection cost a retry")
            let peers = loki.requests().compactMap(\.peer)
            #expect(peers.count == 2 && peers[0] != peers[1])
        }
    }
}
