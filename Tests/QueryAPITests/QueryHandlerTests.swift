import OTLPCodec
@testable import QueryAPI
import Store
import Testing

/// The router over an in-memory reader: Jaeger endpoints, 404 and 400 shapes, methods.
@Suite struct QueryHandlerTests {
    let id = "4bf92f3577b34da6a3ce929d0e0e4736"

    private func get(_ handler: QueryHandler, _ target: String, accept: String? = nil) -> QueryResponse {
        let parts = target.split(separator: "?", maxSplits: 1)
        return handler.handle(method: "GET", path: String(parts[0]), query: parts.count > 1 ? String(parts[1]) : nil, accept: accept)
    }

    @Test func servicesAndOperations() throws {
        let handler = QueryHandler(reader: try FakeReader.fixture())
        let services = get(handler, "/api/services")
        #expect(services.status == 200 && services.contentType == "application/json")
        #expect(services.text == #"{"data":["checkout","frontend","payments"],"total":3,"limit":0,"offset":0,"errors":null}"#)
        #expect(get(handler, "/api/services/checkout/operations").text
            == #"{"data":["POST /api/checkout","SELECT orders","publish order"],"total":3,"limit":0,"offset":0,"errors":null}"#)
        #expect(get(handler, "/api/services/nobody/operations/").text == #"{"data":[],"total":0,"limit":0,"offset":0,"errors":null}"#)
        #expect(get(handler, "/api/operations?service=checkout").text.hasPrefix(#"{"data":[{"name":"POST /api/checkout","spanKind":""},"#))
        #expect(get(handler, "/api/operations").status == 400)
        #expect(get(handler, "/api/dependencies?endTs=1&lookback=2").text == #"{"data":[],"total":0,"limit":0,"offset":0,"errors":null}"#)
        // The fixture's trace (at 1,700,000,000 s): frontend's client span calls checkout's
        // server span, which calls payments; the span whose parent is missing counts nothing.
        #expect(get(handler, "/api/dependencies?endTs=1700000001000&lookback=60000").text
            == #"{"data":[{"parent":"checkout","child":"payments","callCount":1},{"parent":"frontend","child":"checkout","callCount":1}],"total":2,"limit":0,"offset":0,"errors":null}"#)
        #expect(get(handler, "/api/dependencies?endTs=soon").status == 400)
    }

    @Test func percentEncodedServiceName() {
        let reader = FakeReader(operations: ["shop/api v2": ["x"]])
        let response = get(QueryHandler(reader: reader), "/api/services/shop%2Fapi%20v2/operations")
        #expect(response.text.hasPrefix(#"{"data":["x"]"#))
    }

    @Test func traceByIDIsJaegerJSONByDefault() throws {
        let handler = QueryHandler(reader: try FakeReader.fixture())
        for accept in [nil, "application/json", "application/json, text/plain, */*"] {
            let response = get(handler, "/api/traces/\(id)", accept: accept)
            #expect(response.status == 200)
            #expect(response.contentType == "application/json")
            let trace = try JaegerJSON.trace(spans: try Fixture.bytes("trace.pb"), logs: try Fixture.bytes("logs.pb"))
            #expect(response.body == Array(#"{"data":["#.utf8) + trace + Array(#"],"total":0,"limit":0,"offset":0,"errors":null}"#.utf8))
        }
        // Short ids are left-padded; logs=false leaves the log records out.
        let withoutLogs = get(handler, "/api/traces/\(id.uppercased())?logs=false")
        #expect(withoutLogs.status == 200)
        #expect(!withoutLogs.text.contains("checkout started"))
        #expect(get(handler, "/api/traces/\(id)").text.contains("checkout started"))
        #expect(get(handler, "/api/traces/\(id)?format=jaeger&format=tempo").text.hasPrefix(#"{"data":"#))
    }

    @Test func notFoundShapes() throws {
        let handler = QueryHandler(reader: try FakeReader.fixture())
        let jaeger = get(handler, "/api/traces/1")
        #expect(jaeger.status == 404)
        #expect(jaeger.contentType == "application/json")
        #expect(jaeger.text == #"{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found"}]}"#)
        let logs = get(handler, "/api/traces/1/logs")
        #expect(logs.status == 404 && logs.text == jaeger.text)
        let tempo = get(handler, "/api/traces/1", accept: "application/protobuf")
        #expect(tempo.status == 404 && tempo.text == "trace not found\n")
        #expect(get(handler, "/api/traces/1?format=tempo").text == "trace not found\n")
        let unknownPath = get(handler, "/api/nothing")
        #expect(unknownPath.status == 404 && unknownPath.text == "404 page not found\n")
    }

    /// A trace with log records but no span: 404 as a trace, its logs still served.
    @Test func logsOnlyTrace() throws {
        let logs = try Fixture.bytes("logs.pb")
        let handler = QueryHandler(reader: FakeReader(traces: [Fixture.traceID: ([], logs)]))
        #expect(get(handler, "/api/traces/\(id)").status == 404)
        let json = get(handler, "/api/traces/\(id)/logs")
        #expect(json.status == 200)
        #expect(json.body == (try OTLPJSON.encode(.logs, protobuf: logs)))
        let protobuf = get(handler, "/api/traces/\(id)/logs", accept: "application/protobuf")
        #expect(protobuf.contentType == "application/protobuf" && protobuf.body == logs)
        let spansOnly = QueryHandler(reader: FakeReader(traces: [Fixture.traceID: (try Fixture.bytes("trace.pb"), [])]))
        #expect(get(spansOnly, "/api/traces/\(id)/logs").text == #"{"resourceLogs":[]}"#)
    }

    @Test func badRequests() throws {
        let handler = QueryHandler(reader: try FakeReader.fixture())
        let badID = get(handler, "/api/traces/not-hex")
        #expect(badID.status == 400)
        #expect(badID.text == #"{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"invalid trace id \"not-hex\": expected 1 to 32 hex digits"}]}"#)
        let tooLong = get(handler, "/api/v2/traces/" + String(repeating: "a", count: 33))
        #expect(tooLong.status == 400 && tooLong.text.hasPrefix("invalid trace id"))
        let zero = get(handler, "/api/traces/0/logs")
        #expect(zero.status == 400 && zero.text.contains("the all-zero id is not a trace id"))
        let format = get(handler, "/api/traces/\(id)?format=zipkin")
        #expect(format.status == 400 && format.text.contains(#"unknown format \"zipkin\": expected jaeger or tempo"#))
        let search = get(handler, "/api/traces?service=a&minDuration=soon")
        #expect(search.status == 400)
        #expect(search.text == #"{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"unable to parse param 'minDuration': invalid duration \"soon\" (examples: 250ms, 1.5s, 2m)"}]}"#)
    }

    @Test func jaegerSearchReturnsWholeTraces() throws {
        let reader = try FakeReader.fixture()
        let handler = QueryHandler(reader: reader)
        let response = get(handler, "/api/traces?service=frontend&operation=GET%20%2Fcheckout&limit=2&tags=%7B%22error%22%3A%22true%22%7D")
        #expect(response.status == 200)
        let trace = try JaegerJSON.trace(spans: try Fixture.bytes("trace.pb"), logs: try Fixture.bytes("logs.pb"))
        #expect(response.body == Array(#"{"data":["#.utf8) + trace + Array(#"],"total":0,"limit":0,"offset":0,"errors":null}"#.utf8))
        #expect(reader.searches.withLock { $0 } == [TraceQuery(service: "frontend", operation: "GET /checkout", tags: ["error": "true"], limit: 2)])
    }

    @Test func jaegerSearchByTraceIDsReportsMissingOnes() throws {
        let handler = QueryHandler(reader: try FakeReader.fixture())
        let response = get(handler, "/api/traces?traceID=\(id)&traceID=2")
        #expect(response.status == 200)
        #expect(response.text.hasSuffix(#"],"total":0,"limit":0,"offset":0,"errors":[{"msg":"trace not found","traceID":"00000000000000000000000000000002"}]}"#))
    }

    @Test func methods() throws {
        let handler = QueryHandler(reader: try FakeReader.fixture())
        let post = handler.handle(method: "POST", path: "/api/services", query: nil, accept: nil)
        #expect(post.status == 405)
        #expect(handler.handle(method: "HEAD", path: "/api/services", query: nil, accept: nil).status == 200)
    }

    /// Malformed stored bytes: a 500 in the endpoint's error shape, not a crash.
    @Test func corruptStoredTraceIs500() throws {
        let handler = QueryHandler(reader: FakeReader(traces: [Fixture.traceID: ([0x0A, 0x7F, 0x00], [])]))
        let jaeger = get(handler, "/api/traces/\(id)")
        #expect(jaeger.status == 500)
        #expect(jaeger.text == #"{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":500,"msg":"stored data is not a valid ExportTraceServiceRequest"}]}"#)
        #expect(get(handler, "/api/v2/traces/\(id)").text == "stored data is not a valid ExportTraceServiceRequest\n")
        #expect(get(handler, "/api/traces/\(id)?format=tempo").status == 500)
        let badLogs = QueryHandler(reader: FakeReader(traces: [Fixture.traceID: (try Fixture.bytes("trace.pb"), [0xFF])]))
        #expect(get(badLogs, "/api/traces/\(id)").text.contains("stored data is not a valid ExportLogsServiceRequest"))
        #expect(get(badLogs, "/api/traces/\(id)/logs").status == 500)
        #expect(get(badLogs, "/api/traces/\(id)?logs=false").status == 200)
        // Protobuf passes the stored bytes through untouched.
        #expect(get(handler, "/api/traces/\(id)", accept: "application/protobuf").status == 200)
    }
}
