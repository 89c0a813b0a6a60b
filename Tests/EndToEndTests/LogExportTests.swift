import CollectorTesting
import Foundation
import Testing

extension E2E {
    /// Log records from the OpenTelemetry Python SDK, with and without trace context, over
    /// OTLP/gRPC and OTLP/HTTP protobuf.
    @Suite("SDK logs")
    struct Logs {
        @Test("SDK logs with trace context arrive exactly", arguments: ["grpc", "http"])
        func sdkLogs(proto: String) async throws {
            let ports = try Ports()
            let collector = try await TestConfig(ports: ports).start()
            let report = try await runSDK("logs", protocol: proto, ports: ports, args: ["--count", "2", "--seed", "31"])
            let records = report.logRecords ?? []
            #expect(report.count == 8 && records.count == 8)
            #expect(report.sdkLog.isEmpty, "\(report.sdkLog)")
            // Three of every four records carry the span's context; the fourth none.
            let withContext = records.filter { !$0.traceId.isEmpty }
            #expect(withContext.count == 6)
            #expect(withContext.allSatisfy { $0.spanId.count == 16 && $0.traceId.count == 32 && $0.flags == 1 })
            #expect(records.filter { $0.traceId.isEmpty }.allSatisfy { $0.spanId.isEmpty })

            let text = try await waitForPrinted(collector, "Logs", count: 8)
            expectPrintedExactly(report, in: text)

            // The trace context as printed, literally.
            let printed = DebugOutput.entries(in: text).filter { $0.kind == .logRecord }
            #expect(printed.count == 8)
            let printedIds = Set(printed.map(\.traceId))
            #expect(printedIds == Set(report.traceIds + ["<empty>"]), "\(printedIds)")
            for record in withContext {
                let match = printed.filter {
                    $0.traceId == record.traceId && $0.spanId == record.spanId
                        && $0.field("body") == DebugRendering.typed(record.body)
                }
                #expect(match.count == 1, "\(record.body) with trace \(record.traceId) span \(record.spanId)")
            }
            let warn = try #require(printed.first { $0.field("severity_text") == "\"WARN\"" })
            #expect(warn.field("severity_number") == "SEVERITY_NUMBER_WARN")
            #expect(warn.lines.contains { $0.hasSuffix("Int(9007199254740993)") }, "\(warn.lines)")

            let c = try await counters(ports)
            #expect(c.acceptedLogs[proto] == 8)
            #expect(c.sentLogs == 8)
            #expect(c.sentSpans == 0)
            await expectCleanLogAndStop(collector)
        }
    }
}
