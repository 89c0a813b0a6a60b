import CollectorTesting
import Foundation
import Testing

extension E2E {
    /// Spans from the OpenTelemetry Python SDK, over OTLP/gRPC and OTLP/HTTP protobuf, come out
    /// of the debug exporter field for field.
    @Suite("SDK traces")
    struct Traces {
        /// The span the client's report calls `name` in its first trace.
        static func span(_ report: ClientReport, _ name: String) throws -> ClientReport.Span {
            try #require((report.spans ?? []).first { $0.name == name }, "no span \(name) in the report")
        }

        /// The client really sent what this suite claims to check: nested spans, attributes
        /// of every value type, events, links and an error status.
        static func checkShapeOfSent(_ report: ClientReport, traces: Int) throws {
            let spans = report.spans ?? []
            #expect(report.count == 4 * traces)
            #expect(spans.count == 4 * traces)
            #expect(report.traceIds.count == traces)
            #expect(report.exports.allSatisfy { $0.result == "SUCCESS" })
            #expect(report.sdkLog.isEmpty, "\(report.sdkLog)")
            let root = try span(report, "GET /api/checkout")
            let validate = try span(report, "validate-cart")
            let db = try span(report, "SELECT carts")
            let payments = try span(report, "POST /payments")
            #expect(root.parentSpanId == "")
            #expect(validate.parentSpanId == root.spanId)
            #expect(db.parentSpanId == validate.spanId)
            #expect(payments.parentSpanId == root.spanId)
            let kinds = Set(root.attributes.map { attr -> String in
                switch attr.value {
                case .string: "string"
                case .bool: "bool"
                case .int: "int"
                case .double: "double"
                case .array: "array"
                default: "other"
                }
            })
            #expect(kinds == ["string", "bool", "int", "double", "array"])
            #expect(root.links.count == 1 && payments.links.count == 1)
            #expect(payments.links.first?.spanId == validate.spanId)
            #expect(validate.events.count == 2 && db.events.count == 1)
            #expect(db.status.code == 2 && db.status.message == "connection reset by peer")
            #expect(root.status.code == 1)
            #expect(root.attribute("e2e.int64.large") == .int(9_007_199_254_740_993))
        }

        /// A few printed lines written out literally, independent of `DebugExpectations`.
        static func checkLiteralLines(_ report: ClientReport, _ text: String) throws {
            let root = try span(report, "GET /api/checkout")
            let printed = try #require(DebugOutput.spanBlocks(in: text)[root.spanId]?.first)
            for line in [
                "      trace_id: \(root.traceId)",
                "      parent_span_id: <empty>",
                "      name: \"GET /api/checkout\"",
                "      kind: SPAN_KIND_SERVER",
                "      status.code: STATUS_CODE_OK",
                "        -> e2e.str.empty: Str(\"\")",
                "        -> e2e.str.unicode: Str(\"h\u{e9}llo w\u{f6}rld \u{2713}\")",
                "        -> e2e.bool: Bool(true)",
                "        -> e2e.int.negative: Int(-7)",
                "        -> e2e.int64.large: Int(9007199254740993)",
                "        -> e2e.double: Double(3.25)",
                "        -> e2e.str.array: Array([\"a\", \"b\", \"c\"])",
                "        -> e2e.int.array: Array([1, -2, 9007199254740993])",
                "        -> e2e.double.array: Array([0.5, 1.25, -2.0])",
                "      Link #0",
            ] {
                #expect(printed.contains(line), "missing line: \(line)")
            }
            let db = try span(report, "SELECT carts")
            let dbPrinted = try #require(DebugOutput.spanBlocks(in: text)[db.spanId]?.first)
            #expect(dbPrinted.contains("      status.code: STATUS_CODE_ERROR"))
            #expect(dbPrinted.contains("      status.message: \"connection reset by peer\""))
            #expect(dbPrinted.contains("      parent_span_id: \(db.parentSpanId)"))
        }

        /// The exact comparison catches a changed value, a missing span and a duplicated one.
        static func checkComparisonIsNotVacuous(_ report: ClientReport, _ text: String) {
            let changed = text.replacingOccurrences(of: "-> e2e.int: Int(42)", with: "-> e2e.int: Int(43)")
            #expect(changed != text)
            let problems = DebugMatch.mismatches(report, in: changed)
            #expect(problems.count == 2 && problems.allSatisfy { $0.contains("is printed differently") }, "\(problems)")
            #expect(problems.first?.contains("expected:         -> e2e.int: Int(42)") == true, "\(problems)")

            let entries = DebugOutput.entries(in: text)
            let expected = DebugMatch.expectedEntries(report)
            let missing = DebugMatch.mismatches(expected, in: Array(entries.dropLast()), exclusive: true)
            #expect(missing.count == 1 && missing[0].hasSuffix("is not in the output"), "\(missing)")
            let doubled = DebugMatch.mismatches(expected, in: entries + [entries[0]], exclusive: true)
            #expect(doubled.count == 1 && doubled[0].hasSuffix("is printed 2 times"), "\(doubled)")
        }

        @Test("SDK traces arrive exactly", arguments: [
            (proto: "grpc", batches: false),
            (proto: "http", batches: true),
        ])
        func sdkTraces(proto: String, batches: Bool) async throws {
            let ports = try Ports()
            let collector = try await TestConfig(ports: ports).start()
            let report = try await runSDK(
                protocol: proto, ports: ports, args: ["--count", "2", "--seed", "11"] + (batches ? ["--batches"] : []))
            try Self.checkShapeOfSent(report, traces: 2)
            #expect(report.exports.count == (batches ? 1 : 8))

            let text = try await waitForPrinted(collector, "Traces", count: 8)
            expectPrintedExactly(report, in: text)
            try Self.checkLiteralLines(report, text)
            Self.checkComparisonIsNotVacuous(report, text)
            #expect(DebugOutput.itemCount(in: text, signal: "Logs") == 0)

            let c = try await counters(ports)
            #expect(c.acceptedSpans[proto] == 8)
            #expect(c.acceptedSpans[proto == "grpc" ? "http" : "grpc"] == 0)
            #expect(c.sentSpans == 8)
            await expectCleanLogAndStop(collector)
        }

        /// gRPC with `grpc-encoding: gzip` (and OTLP/HTTP with `Content-Encoding: gzip`) from
        /// the SDK: decompressed and printed intact.
        @Test("gzip-compressed SDK requests arrive intact", arguments: ["grpc", "http"])
        func gzip(proto: String) async throws {
            let ports = try Ports()
            let collector = try await TestConfig(ports: ports).start()
            let traces = try await runSDK(
                protocol: proto, ports: ports, args: ["--compression", "gzip", "--count", "3", "--batches", "--seed", "21"])
            let logs = try await runSDK(
                "logs", protocol: proto, ports: ports, args: ["--compression", "gzip", "--count", "2", "--seed", "22"])
            #expect(traces.count == 12 && logs.count == 8)

            let text = try await waitForPrinted(collector, "Traces", count: 12)
            try await waitForPrinted(collector, "Logs", count: 8)
            expectPrintedExactly(traces, in: text)
            expectPrintedExactly(logs, in: collector.stdoutText)
            let c = try await counters(ports)
            #expect(c.acceptedSpans[proto] == 12 && c.acceptedLogs[proto] == 8)
            #expect(c.sentSpans == 12 && c.sentLogs == 8)
            await expectCleanLogAndStop(collector)
        }
    }
}
