import CollectorCore
import ExporterHelper
import Foundation
@testable import LokiExporter
import Testing
import Checksums

extension LokiSuites {
    @Suite struct Retry {
        func settings(_ loki: FakeLoki) -> LokiSettings {
            var s = LokiSettings()
            s.endpoint = loki.endpoint
            s.retry.initialInterval = 20_000_000
            s.retry.maxInterval = 50_000_000
            s.retry.maxElapsedTime = 10_000_000_000
            return s
        }

        func counter(_ registry: MetricsRegistry, _ name: String, status: String? = nil) -> UInt64 {
            var labels = [("exporter", "loki")]
            if let status { labels.append(("status", status)) }
            return registry.counter(name, help: "", labels: labels).current
        }

        @Test func retries429HonouringRetryAfterAnd500() throws {
            let loki = try FakeLoki()
            try loki.start(script: "429:1,500")
            defer { loki.stop() }
            let registry = MetricsRegistry()
            let exporter = try LokiExporter(settings: settings(loki), logger: .discarding, metrics: registry)
            try exporter.start()
            try exporter.export(logsBatch(try logsPayload([TestRecord(time: 1, body: "once")]), count: 1))
            exporter.shutdown()
            let requests = loki.requests()
            #expect(requests.map(\.status) == [429, 500, 204])
            try #require(requests.count == 3)
            #expect(requests[1].time - requests[0].time >= 0.95, "Retry-After: 1 was not honoured")
            #expect(requests[2].time - requests[1].time < 0.9)
            #expect(loki.acceptedLines() == ["once"])
            #expect(counter(registry, "collectord_loki_retries_total") == 2)
            #expect(counter(registry, "collectord_loki_requests_total", status: "429") == 1)
            #expect(counter(registry, "collectord_loki_requests_total", status: "500") == 1)
            #expect(counter(registry, "collectord_loki_requests_total", status: "204") == 1)
            #expect(counter(registry, "collectord_loki_sent_entries_total") == 1)
        }

        @Test func badRequestIsDroppedCountedAndLogged() throws {
            let loki = try FakeLoki()
            try loki.start(script: "400")
            defer { loki.stop() }
            let registry = MetricsRegistry()
            let log = LogCapture()
            let logger = Logger(minimum: .debug, sink: { _, line in log.append(line) })
            let exporter = try LokiExporter(settings: settings(loki), logger: logger, metrics: registry)
            try exporter.start()
            let payload = try logsPayload([TestRecord(time: 1, body: "a"), TestRecord(time: 2, body: "b")])
            do {
                try exporter.export(logsBatch(payload, count: 2))
                Issue.record("a batch rejected with 400 did not throw")
            } catch {
                #expect(error.retry == .permanent)
            }
            try exporter.export(logsBatch(payload, count: 2))
            exporter.shutdown()
            #expect(loki.requests().map(\.status) == [400, 204])
            #expect(counter(registry, "collectord_loki_dropped_entries_total") == 2)
            #expect(counter(registry, "collectord_loki_retries_total") == 0)
            #expect(log.all.contains { $0.contains("status 400") && $0.contains("scripted 400") })
        }

        @Test func givesUpAfterMaxElapsedTimeWithoutQueue() throws {
            let loki = try FakeLoki()  // never started: connection refused
            var s = settings(loki)
            s.retry.maxElapsedTime = 200_000_000
            let exporter = try LokiExporter(settings: s, logger: .discarding, metrics: MetricsRegistry())
            try exporter.start()
            let payload = try logsPayload([TestRecord(time: 1, body: "x")])
            do {
                try exporter.export(logsBatch(payload, count: 1))
                Issue.record("export succeeded with Loki down")
            } catch {
                #expect(error.retry == .retryable)
            }
            exporter.shutdown()
        }

        @Test func policyClassifies() {
            #expect(LokiRetryPolicy.classify(status: 204, retryAfter: nil, why: "w") == .delivered)
            #expect(LokiRetryPolicy.classify(status: 429, retryAfter: "3", why: "w") == .retry(after: 3_000_000_000, "w"))
            #expect(LokiRetryPolicy.classify(status: 503, retryAfter: nil, why: "w") == .retry(after: nil, "w"))
            #expect(LokiRetryPolicy.classify(status: nil, retryAfter: nil, why: "w") == .retry(after: nil, "w"))
            #expect(LokiRetryPolicy.classify(status: 400, retryAfter: nil, why: "w") == .permanent("w"))
            #expect(LokiRetryPolicy.classify(status: 404, retryAfter: nil, why: "w") == .permanent("w"))
        }

        @Test func labelNamesAreSanitized() {
            #expect(LokiStreamBuilder.sanitize("service.name") == "service_name")
            #expect(LokiStreamBuilder.sanitize("k8s-pod/name") == "k8s_pod_name")
            #expect(LokiStreamBuilder.sanitize("1st") == "_1st")
            #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        }
    }
}
