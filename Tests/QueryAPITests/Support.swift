import CollectorTesting
import Foundation
import OTLPCodec
@testable import QueryAPI
import Store
import Synchronization
import Testing

/// Fixtures live beside this file in `Fixtures/` (see `Fixtures/gen_fixtures.py`), read from
/// the source tree.
enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static let traceID = OTLPTraceID(hex: "4bf92f3577b34da6a3ce929d0e0e4736")!

    /// Compares `actual` with the golden file `name`; `UPDATE_GOLDEN=1` rewrites it instead.
    static func expectGolden(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        if let difference = try GoldenFile.compare(actual, with: directory.appendingPathComponent(name)) {
            Issue.record(Comment(rawValue: difference), sourceLocation: sourceLocation)
        }
    }
}

/// Indents compact JSON (two spaces, one member or element per line) without reordering or
/// touching strings, so that a golden file is readable and still pins the exact bytes: only
/// whitespace outside strings is added.
enum PrettyJSON {
    static func format(_ json: [UInt8]) -> String {
        var out = ""
        var depth = 0
        var inString = false
        var escaped = false
        let bytes = json
        var i = 0
        func newline() { out += "\n" + String(repeating: "  ", count: depth) }
        while i < bytes.count {
            let c = bytes[i]
            let ch = Character(Unicode.Scalar(c))
            if inString {
                // Copy the whole UTF-8 sequence at once.
                var end = i + 1
                while end < bytes.count && bytes[end] & 0xC0 == 0x80 { end += 1 }
                out += String(decoding: bytes[i..<end], as: UTF8.self)
                if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false }
                i = end
                continue
            }
            switch ch {
            case "\"":
                inString = true
                out.append(ch)
            case "{", "[":
                out.append(ch)
                let close: UInt8 = ch == "{" ? UInt8(ascii: "}") : UInt8(ascii: "]")
                if i + 1 < bytes.count && bytes[i + 1] == close {
                    out.append(Character(Unicode.Scalar(close)))
                    i += 1
                } else {
                    depth += 1
                    newline()
                }
            case "}", "]":
                depth -= 1
                newline()
                out.append(ch)
            case ",":
                out.append(ch)
                newline()
            case ":":
                out += ": "
            default:
                out.append(ch)
            }
            i += 1
        }
        return out + "\n"
    }

    /// Parses with Foundation: the output must be valid JSON.
    static func object(_ json: [UInt8]) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(json), options: [.fragmentsAllowed])
    }
}

/// An in-memory `TraceReader`: fixed contents, and the searches it was asked, for assertions.
final class FakeReader: TraceReader {
    let traces: [OTLPTraceID: (spans: [UInt8], logs: [UInt8])]
    let serviceNames: [String]
    let operationNames: [String: [String]]
    let summaries: [TraceSummary]
    let searches = Mutex<[TraceQuery]>([])

    init(traces: [OTLPTraceID: (spans: [UInt8], logs: [UInt8])] = [:], services: [String] = [],
         operations: [String: [String]] = [:], summaries: [TraceSummary] = []) {
        self.traces = traces
        self.serviceNames = services
        self.operationNames = operations
        self.summaries = summaries
    }

    /// The fixture trace (spans and logs), the services and operations it has.
    static func fixture() throws -> FakeReader {
        FakeReader(
            traces: [Fixture.traceID: (try Fixture.bytes("trace.pb"), try Fixture.bytes("logs.pb"))],
            services: ["checkout", "frontend", "payments"],
            operations: ["checkout": ["POST /api/checkout", "SELECT orders", "publish order"]],
            summaries: [TraceSummary(traceID: Fixture.traceID, rootService: "frontend", rootOperation: "GET /checkout",
                                     startTimeUnixNano: 1_700_000_000_000_000_000, durationNanos: 140_000_000,
                                     spanCount: 8, errorCount: 1, logCount: 5)])
    }

    func trace(id: [UInt8], budget: ReadBudget) -> (spans: [UInt8], logs: [UInt8])? {
        OTLPTraceID(bytes: id).flatMap { traces[$0] }
    }

    func services() -> [String] { serviceNames }

    func operations(service: String) -> [String] { operationNames[service] ?? [] }

    func search(_ query: TraceQuery, budget: ReadBudget) -> [TraceSummary] {
        searches.withLock { $0.append(query) }
        return Array(summaries.prefix(query.limit))
    }
}
