import CollectorTesting
@testable import collectorctl
import Foundation
import OTLPCodec
import Testing

/// Golden outputs live in `Fixtures/` beside this file; the OTLP inputs are the query API's
/// fixtures (`Tests/QueryAPITests/Fixtures`, made by its `gen_fixtures.py`), so both sides of
/// the wire are tested on the same trace.
enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let otlpDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("QueryAPITests/Fixtures")

    static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"

    static func otlp(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: otlpDirectory.appendingPathComponent(name)))
    }

    /// The fixture trace as the CLI sees it: protobuf -> OTLP/JSON -> view.
    static func view() throws -> TraceView {
        let traces = try QueryClient.document(try QueryClient.json(.traces, try otlp("trace.pb")))
        let logs = try QueryClient.document(try QueryClient.json(.logs, try otlp("logs.pb")))
        return TraceView(traceID: traceID, traces: traces, logs: logs)
    }

    /// Compares `actual` with the golden file `name`; `UPDATE_GOLDEN=1` rewrites it instead.
    static func expectGolden(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        if let difference = try GoldenFile.compare(actual, with: directory.appendingPathComponent(name)) {
            Issue.record(Comment(rawValue: difference), sourceLocation: sourceLocation)
        }
    }
}
