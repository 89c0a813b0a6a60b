import CollectorTesting
import Foundation
import Testing

extension E2E {
    /// OTLP/HTTP with JSON bodies written by hand after the spec's JSON mapping (hex ids,
    /// 64-bit integers as strings, bytes as base64, enums as numbers), plain and gzip.
    @Suite("OTLP/JSON")
    struct JSON {
        @Test("hand-written OTLP/JSON traces and logs, plain and gzip, print exactly the values sent")
        func json() async throws {
            let ports = try Ports()
            let collector = try await TestConfig(ports: ports).start()
            var reports: [(signal: String, gzip: Bool, report: JSONPostReport)] = []
            for (seed, (signal, gzip)) in [("traces", false), ("logs", false), ("traces", true), ("logs", true)].enumerated() {
                let (exit, post) = try await sendJSON(
                    ports, ["--signal", signal, "--seed", String(seed + 1), "--service", "json-\(seed + 1)"]
                        + (gzip ? ["--gzip"] : []))
                #expect(exit == 0, "\(post.status.map(String.init) ?? "no answer") \(post.responseBody) \(post.error ?? "")")
                #expect(post.status == 200)
                #expect(post.gzip == gzip)
                if gzip { #expect(post.bodyBytes < post.requestBytes) }
                // An OTLP/JSON request is answered in JSON: an empty ExportServiceResponse.
                #expect(post.responseHeaders["content-type"] == "application/json")
                #expect(post.responseBody == "{}")
                reports.append((signal, gzip, post))
            }
            let text = try await waitForPrinted(collector, "Traces", count: 4)
            try await waitForPrinted(collector, "Logs", count: 4)
            let all = collector.stdoutText

            // Each request, field for field (exclusive over everything the four requests sent).
            let expected = reports.flatMap { DebugMatch.expectedEntries($0.report.report) }
            let problems = DebugMatch.mismatches(expected, in: DebugOutput.entries(in: all), exclusive: true)
            #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
            #expect(expected.count == 8)

            // The JSON-specific conversions, written out literally.
            let root = try #require(DebugOutput.spanBlocks(in: text)["d400000100000001"]?.first)
            for line in [
                "      trace_id: c3000001000000000000000000000001",
                "      span_id: d400000100000001",
                "      parent_span_id: <empty>",
                "      kind: SPAN_KIND_SERVER",
                "      status.code: STATUS_CODE_OK",
                "        -> e2e.int: Int(42)",
                "        -> e2e.int64.large: Int(9007199254740993)",
                "        -> e2e.int.negative: Int(-9000000000)",
                "        -> e2e.double: Double(2.5)",
                "        -> e2e.bytes: Bytes(0001feff)",
                "        -> e2e.str.unicode: Str(\"\u{65e5}\u{672c}\u{8a9e} \u{2713}\")",
                "        -> e2e.int.array: Array([1, 9007199254740993])",
                "        -> e2e.kvlist: Map({inner.str: \"v\", inner.bool: false})",
                "        trace_id: c3000001000000000000000000000063",
                "        span_id: d400000100000063",
                "          -> event.n: Int(1)",
            ] {
                #expect(root.contains(line), "missing line: \(line)")
            }
            let child = try #require(DebugOutput.spanBlocks(in: text)["d400000100000002"]?.first)
            #expect(child.contains("      parent_span_id: d400000100000001"))
            #expect(child.contains("      status.message: \"upstream timeout\""))
            // Gzip request (seed 3) decoded the same way.
            #expect(DebugOutput.spanBlocks(in: text)["d400000300000001"]?.first?
                .contains("        -> e2e.bytes: Bytes(0001feff)") == true)

            let logs = DebugOutput.entries(in: all).filter { $0.kind == .logRecord }
            let info = try #require(logs.first { $0.traceId == "c3000002000000000000000000000001" })
            #expect(info.field("body") == "Str(\"json log line\")")
            #expect(info.spanId == "d400000200000001")
            #expect(info.field("flags") == "1")
            #expect(info.field("severity_number") == "SEVERITY_NUMBER_INFO")
            let error = try #require(logs.first { $0.field("body") == "Str(\"json error line\")" })
            #expect(error.traceId == "<empty>" && error.spanId == "<empty>")
            #expect(error.field("observed_time_unix_nano") == "0 (1970-01-01T00:00:00.000000000Z)")
            #expect(logs.count == 4)

            let c = try await counters(ports)
            #expect(c.acceptedSpans["http"] == 4 && c.acceptedLogs["http"] == 4)
            #expect(c.sentSpans == 4 && c.sentLogs == 4)
            await expectCleanLogAndStop(collector)
        }
    }
}
