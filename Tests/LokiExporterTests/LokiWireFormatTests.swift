import CollectorCore
import Foundation
@testable import LokiExporter
import Testing

/// All suites that start a fake Loki run one at a time (two cores, real sockets and timing).
@Suite(.serialized)
enum LokiSuites {}

extension LokiSuites {
    @Suite struct WireFormat {
        static let trace = "5b8efff798038103d269b633813fc60c"
        static let span = "eee19b7ec3c1b174"

        func settings(_ loki: FakeLoki, format: LokiSettings.Format) -> LokiSettings {
            var s = LokiSettings()
            s.endpoint = loki.endpoint
            s.format = format
            s.tenantID = "team-a"
            s.headers = ["X-Test": "yes"]
            s.resourceLabels = ["service.name", "k8s.namespace.name"]
            s.attributeLabels = ["level"]
            s.retry.initialInterval = 20_000_000
            s.retry.maxInterval = 50_000_000
            return s
        }

        func records() -> [TestRecord] {
            [
                TestRecord(time: 1_700_000_000_300_000_000, body: "third", traceID: Self.trace, spanID: Self.span, extra: [("user.id", "42")]),
                TestRecord(time: 1_700_000_000_100_000_000, body: "first"),
                TestRecord(time: 1_700_000_000_200_000_000, body: "boom", level: "error", severity: "ERROR"),
                TestRecord(time: 1_700_000_000_200_000_001, body: "second"),
            ]
        }

        func check(_ format: LokiSettings.Format) throws {
            let loki = try FakeLoki()
            try loki.start()
            defer { loki.stop() }
            let exporter = try LokiExporter(settings: settings(loki, format: format), logger: .discarding, metrics: MetricsRegistry())
            try exporter.start()
            try exporter.export(logsBatch(try logsPayload(records()), count: 4))
            exporter.shutdown()
            let requests = loki.requests()
            try #require(requests.count == 1)
            let request = requests[0]
            #expect(request.status == 204)
            #expect(request.tenant == "team-a")
            #expect(request.headers["X-Test"] == "yes")
            #expect(request.content_type == (format == .protobuf ? "application/x-protobuf" : "application/json"))
            let info = FakeLoki.Stream(labels: "{k8s_namespace_name=\"prod\", level=\"info\", service_name=\"checkout\"}", entries: [
                .init(ts: 1_700_000_000_100_000_000, line: "first", metadata: [["severity", "INFO"]]),
                .init(ts: 1_700_000_000_200_000_001, line: "second", metadata: [["severity", "INFO"]]),
                .init(ts: 1_700_000_000_300_000_000, line: "third",
                      metadata: [["trace_id", Self.trace], ["span_id", Self.span], ["severity", "INFO"], ["user_id", "42"]]),
            ])
            let error = FakeLoki.Stream(labels: "{k8s_namespace_name=\"prod\", level=\"error\", service_name=\"checkout\"}", entries: [
                .init(ts: 1_700_000_000_200_000_000, line: "boom", metadata: [["severity", "ERROR"]]),
            ])
            #expect(request.streams == [info, error])
        }

        @Test func protobufSnappyPushRequest() throws { try check(.protobuf) }

        @Test func jsonPushBody() throws { try check(.json) }
    }
}
