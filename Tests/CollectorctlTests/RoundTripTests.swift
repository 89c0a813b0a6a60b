import CollectorCore
@testable import collectorctl
import Dispatch
import OTLPCodec
import QueryAPI
import Store
import Testing
import Transport

/// The CLI's client against the real `query` extension over HTTP (port 0), with an in-memory
/// reader holding the fixture trace.
@Suite struct RoundTripTests {
    final class Reader: TraceReader {
        let spans: [UInt8]
        let logs: [UInt8]

        init() throws {
            spans = try Fixture.otlp("trace.pb")
            logs = try Fixture.otlp("logs.pb")
        }

        func trace(id: [UInt8], budget: ReadBudget) -> (spans: [UInt8], logs: [UInt8])? {
            OTLPTraceID(bytes: id)?.hex == Fixture.traceID ? (spans, logs) : nil
        }

        func services() -> [String] { ["frontend"] }
        func operations(service: String) -> [String] { [] }

        func search(_ query: TraceQuery, budget: ReadBudget) -> [TraceSummary] {
            guard query.service == "frontend" else { return [] }
            return [TraceSummary(traceID: OTLPTraceID(hex: Fixture.traceID)!, rootService: "frontend",
                                 rootOperation: "GET /checkout", startTimeUnixNano: 1_700_000_000_000_000_000,
                                 durationNanos: 140_000_000, spanCount: 8, errorCount: 1, logCount: 5)]
        }
    }

    private func withServer(_ body: (QueryClient) throws -> Void) throws {
        var settings = QuerySettings()
        settings.endpoint = "127.0.0.1:0"
        let server = QueryExtension(settings: settings, reader: try Reader(), logger: .discarding)
        try server.start()
        defer {
            let done = DispatchSemaphore(value: 0)
            server.shutdown(deadline: .now() + 2) { done.signal() }
            done.wait()
        }
        let port = try #require(server.boundPort)
        try body(QueryClient(http: try QueryHTTP(server: ServerAddress(host: "127.0.0.1", port: port))))
    }

    @Test func fetchesAndRendersTheTrace() throws {
        try withServer { client in
            let stored = try client.trace(Fixture.traceID)
            #expect(stored.spans == (try Fixture.otlp("trace.pb")))
            #expect(stored.logs == (try Fixture.otlp("logs.pb")))
            let view = TraceView(
                traceID: Fixture.traceID,
                traces: try QueryClient.document(try QueryClient.json(.traces, stored.spans!)),
                logs: try QueryClient.document(try QueryClient.json(.logs, stored.logs!)))
            #expect(view == (try Fixture.view()))
        }
    }

    @Test func unknownTraceIsNotFound() throws {
        try withServer { client in
            #expect(throws: CLIError(.notFound, "trace 00000000000000000000000000000001 not found at \(client.http.server)")) {
                try client.trace("00000000000000000000000000000001")
            }
        }
    }

    @Test func aServerThatIsNotTheQueryAPIIsNotNotFound() throws {
        // What the OTLP/HTTP or health_check port answers for a path it does not serve.
        let other = HTTPServer(endpoint: Endpoint(host: "127.0.0.1", port: 0)) { _, respond in respond(.text(404, "404 page not found\n")) }
        try other.start()
        defer {
            let done = DispatchSemaphore(value: 0)
            other.shutdown(deadline: .now() + 2) { done.signal() }
            done.wait()
        }
        let port = try #require(other.boundPort)
        let client = QueryClient(http: try QueryHTTP(server: ServerAddress(host: "127.0.0.1", port: port)))
        #expect(throws: CLIError(.server, "http://127.0.0.1:\(port) is not a collectord query endpoint: /api/traces/\(Fixture.traceID) answered 404 (404 page not found)")) {
            try client.trace(Fixture.traceID)
        }
    }

    @Test func searchListsTraces() throws {
        try withServer { client in
            let (results, _) = try client.search([("tags", "service.name=frontend"), ("limit", "5")])
            #expect(SearchTable().render(results) == """
                TRACE ID                          START (UTC)              DURATION  SPANS  ERRORS  ROOT
                4bf92f3577b34da6a3ce929d0e0e4736  2023-11-14 22:13:20.000     140ms      8       1  frontend: GET /checkout

                """)
            #expect(SearchTable().render(try client.search([("tags", "service.name=nobody")]).results) == "No traces found.\n")
            #expect(throws: CLIError(.invalidInput, "search: the server refused the request: invalid limit: \"0\" is not a positive integer")) {
                try client.search([("limit", "0")])
            }
        }
    }

    @Test func unreachableServer() throws {
        // Bind and close to find a port nobody listens on.
        var settings = QuerySettings()
        settings.endpoint = "127.0.0.1:0"
        let server = QueryExtension(settings: settings, reader: try Reader(), logger: .discarding)
        try server.start()
        let port = try #require(server.boundPort)
        let done = DispatchSemaphore(value: 0)
        server.shutdown(deadline: .now() + 2) { done.signal() }
        done.wait()
        let client = QueryClient(http: try QueryHTTP(server: ServerAddress(host: "127.0.0.1", port: port)))
        #expect(throws: CLIError(.unreachable, "cannot reach http://127.0.0.1:\(port): connection refused")) {
            try client.trace(Fixture.traceID)
        }
    }

    @Test func combinedJSON() throws {
        let spans = try QueryClient.json(.traces, try Fixture.otlp("trace.pb"))
        let logs = try QueryClient.json(.logs, try Fixture.otlp("logs.pb"))
        let combined = TraceCommand.combinedJSON(spans: spans, logs: logs)
        #expect(combined.hasPrefix("{\"resourceSpans\":[") && combined.contains("],\"resourceLogs\":["))
        let document = try QueryClient.document(Array(combined.utf8))
        #expect(document.resourceSpans?.count == 4 && document.resourceLogs?.count == 3)
        #expect(TraceCommand.combinedJSON(spans: Array("{}".utf8), logs: nil) == "{}")
        #expect(TraceCommand.combinedJSON(spans: nil, logs: logs) == String(decoding: logs, as: UTF8.self))
    }
}
