import Foundation
import Testing
@testable import OTLPCodec

/// The examples in `DebugFormatter`'s documentation are what other components and the
/// end-to-end tests code against, so they are checked verbatim: the code blocks are read from
/// the doc comment and compared with the formatter's output for the same data.
@Suite struct DebugFormatDocTests {
    /// The doc comment's code blocks (lines `///     ...`), without the comment prefix.
    static func docExamples() throws -> [[String]] {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/OTLPCodec/DebugFormatter.swift").standardized
        let text = String(decoding: try Data(contentsOf: source), as: UTF8.self)
        var blocks: [[String]] = []
        var current: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("///     ") {
                current.append(String(line.dropFirst(8)))
            } else if !current.isEmpty {
                blocks.append(current)
                current = []
            }
            if line.hasPrefix("public struct DebugFormatter") { break }
        }
        return blocks
    }

    static let traceJSON = #"""
    {"resourceSpans":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"checkout"}},{"key":"host.cpus","value":{"intValue":8}}]},
     "schemaUrl":"https://opentelemetry.io/schemas/1.21.0",
     "scopeSpans":[{"scope":{"name":"io.opentelemetry.http","version":"1.2.3"},"spans":[{
      "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","traceState":"rojo=00f067aa0ba902b7",
      "flags":257,"name":"GET /cart","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000001500000",
      "status":{"code":2,"message":"boom"},
      "attributes":[{"key":"http.status_code","value":{"intValue":500}},
        {"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":1},{"boolValue":true},{"doubleValue":2.5}]}}},
        {"key":"key with spaces","value":{"kvlistValue":{"values":[{"key":"k","value":{"stringValue":"v"}},
          {"key":"nested","value":{"arrayValue":{"values":[{"bytesValue":"AP8="},{}]}}}]}}}],
      "events":[{"name":"exception","timeUnixNano":"1700000000001000000",
        "attributes":[{"key":"exception.message","value":{"stringValue":"line 1\nline 2"}}]}],
      "links":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331"}]}]}]}]}
    """#

    static let logJSON = #"""
    {"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
     "scopeLogs":[{"logRecords":[{"timeUnixNano":"1700000000000000000","observedTimeUnixNano":"1700000000000000500",
      "severityNumber":13,"severityText":"WARN","body":{"stringValue":"disk 91% full"},
      "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","flags":1,
      "attributes":[{"key":"disk.used","value":{"doubleValue":0.91}}]}]}]}]}
    """#

    private func lines(_ verbosity: DebugFormatter.Verbosity, _ signal: OTLPSignal, _ json: String) throws -> [String] {
        let protobuf = try OTLPJSON.decode(signal, json: Array(json.utf8))
        let text = try DebugFormatter(verbosity: verbosity).format(signal, protobuf: protobuf)
        #expect(text.hasSuffix("\n"))
        return text.split(separator: "\n").map(String.init)
    }

    @Test func documentedExamplesAreExact() throws {
        let blocks = try Self.docExamples()
        try #require(blocks.count == 4)
        // Block 1: one normal line per span / log record.
        #expect(blocks[1] == [
            try lines(.normal, .traces, Self.traceJSON)[1],
            try lines(.normal, .logs, Self.logJSON)[1],
        ])
        // Block 2: the whole detailed output for the trace.
        #expect(blocks[2] == (try lines(.detailed, .traces, Self.traceJSON)))
        // Block 3: the log record part of the detailed output for the log.
        let logLines = try lines(.detailed, .logs, Self.logJSON)
        let start = try #require(logLines.firstIndex(of: "    LogRecord #0"))
        #expect(blocks[3] == Array(logLines[start...]))
    }
}
