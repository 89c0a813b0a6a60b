import CollectorCore
import Foundation
import HTTPClient
@testable import LokiExporter
import Testing

extension LokiSuites {
    /// `https://` endpoints: the fake Loki serves TLS with Python's ssl module and a fixture
    /// certificate for localhost; the exporter verifies it against `tls.ca_file`.
    @Suite struct TLS {
        func settings(_ loki: FakeLoki, _ tls: TLSClientSettings) -> LokiSettings {
            var s = LokiSettings()
            s.endpoint = loki.endpoint
            s.tls = tls
            s.retry.initialInterval = 20_000_000
            s.retry.maxInterval = 50_000_000
            s.retry.maxElapsedTime = 1_000_000_000
            return s
        }

        @Test func pushesOverVerifiedTLS() throws {
            let loki = try FakeLoki()
            try loki.start(tls: true)
            defer { loki.stop() }
            var tls = TLSClientSettings()
            tls.caFile = FakeLoki.certificate
            let exporter = try LokiExporter(settings: settings(loki, tls), logger: .discarding, metrics: MetricsRegistry())
            try exporter.start()
            try exporter.export(logsBatch(try logsPayload([TestRecord(time: 1, body: "over tls")]), count: 1))
            exporter.shutdown()
            #expect(loki.endpoint.hasPrefix("https://localhost:"))
            #expect(loki.requests().map(\.status) == [204])
            #expect(loki.acceptedLines() == ["over tls"])
        }

        @Test func anUntrustedCertificateIsRefusedUnlessVerificationIsSkipped() throws {
            let loki = try FakeLoki()
            try loki.start(tls: true)
            defer { loki.stop() }
            let log = LogCapture()
            let logger = Logger(minimum: .debug, sink: { _, line in log.append(line) })
            // The system trust store does not know the fixture's self-signed certificate.
            let strict = try LokiExporter(settings: settings(loki, TLSClientSettings()), logger: logger, metrics: MetricsRegistry())
            try strict.start()
            #expect(throws: ComponentError.self) {
                try strict.export(logsBatch(try logsPayload([TestRecord(time: 1, body: "refused")]), count: 1))
            }
            strict.shutdown()
            #expect(log.all.contains { $0.contains("certificate verify failed") || $0.contains("certificate verification failed") },
                    "\(log.all)")
            #expect(loki.acceptedLines().isEmpty)

            var skip = TLSClientSettings()
            skip.insecureSkipVerify = true
            let lax = try LokiExporter(settings: settings(loki, skip), logger: .discarding, metrics: MetricsRegistry())
            try lax.start()
            try lax.export(logsBatch(try logsPayload([TestRecord(time: 1, body: "unverified")]), count: 1))
            lax.shutdown()
            #expect(loki.acceptedLines() == ["unverified"])
        }

        @Test func endpointsGetLokisPushPathWhenTheyHaveNone() {
            #expect(LokiEndpoint.parse("https://logs.example.com")?.path == "/loki/api/v1/push")
            #expect(LokiEndpoint.parse("https://logs.example.com:8443/custom/push")?.path == "/custom/push")
            #expect(LokiEndpoint.parse("https://logs.example.com:8443/custom/push")?.endpoint.authority == "logs.example.com:8443")
            #expect(LokiEndpoint.parse("ftp://x") == nil)
        }
    }
}
