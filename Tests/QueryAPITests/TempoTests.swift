import Foundation
import OTLPCodec
@testable import QueryAPI
import Store
import Testing

@Suite struct TempoTests {
    let id = "4bf92f3577b34da6a3ce929d0e0e4736"

    /// Tempo's `Trace` protobuf is the stored `ExportTraceServiceRequest`, byte for byte.
    @Test func traceByIDProtobufIsTheOTLPBytes() throws {
        let handler = QueryHandler(reader: try FakeReader.fixture())
        let response = handler.handle(method: "GET", path: "/api/traces/\(id)", query: nil, accept: "application/protobuf")
        #expect(response.status == 200)
        #expect(response.contentType == "application/protobuf")
        #expect(response.body == (try Fixture.bytes("trace.pb")))
    }

    /// `TraceByIDResponse { Trace trace = 1; }`: tag 0x0A, varint length, the OTLP bytes.
    @Test func v2ProtobufWrapsTheTraceInField1() throws {
        let spans = try Fixture.bytes("trace.pb")
        let handler = QueryHandler(reader: try FakeReader.fixture())
        let response = handler.handle(method: "GET", path: "/api/v2/traces/\(id)", query: nil, accept: "application/protobuf")
        #expect(response.status == 200)
        #expect(response.contentType == "application/protobuf")
        var length = 0
        var shift = 0
        var i = 1
        while true {
            let b = response.body[i]
            length |= Int(b & 0x7F) << shift
            shift += 7
            i += 1
            if b < 0x80 { break }
        }
        #expect(response.body[0] == 0x0A)
        #expect(length == spans.count)
        #expect(Array(response.body[i...]) == spans)
        // Large payloads need multi-byte varints.
        let big = [UInt8](repeating: 7, count: 300)
        #expect(Array(TempoFormat.traceByIDProtobuf(spans: big).prefix(3)) == [0x0A, 0xAC, 0x02])
    }

    @Test func v2JSONIsOTLPJSONUnderTrace() throws {
        let spans = try Fixture.bytes("trace.pb")
        let handler = QueryHandler(reader: try FakeReader.fixture())
        let response = handler.handle(method: "GET", path: "/api/v2/traces/\(id)", query: nil, accept: "application/json")
        #expect(response.status == 200)
        #expect(response.contentType == "application/json")
        let otlp = try OTLPJSON.encode(.traces, protobuf: spans)
        #expect(response.body == Array("{\"trace\":".utf8) + otlp + Array("}".utf8))
        let object = try #require(try PrettyJSON.object(response.body) as? [String: Any])
        let trace = try #require(object["trace"] as? [String: Any])
        #expect((trace["resourceSpans"] as? [Any])?.count == 4)
        // And it decodes back to the same protobuf.
        let inner = try JSONSerialization.data(withJSONObject: trace)
        #expect(try OTLPJSON.decode(.traces, json: Array(inner)) == spans)
    }

    @Test func v1JSONWithFormatTempoHasBatches() throws {
        let spans = try Fixture.bytes("trace.pb")
        let handler = QueryHandler(reader: try FakeReader.fixture())
        let response = handler.handle(method: "GET", path: "/api/traces/\(id)", query: "format=tempo", accept: "application/json")
        #expect(response.status == 200)
        let otlp = String(decoding: try OTLPJSON.encode(.traces, protobuf: spans), as: UTF8.self)
        #expect(response.text == "{\"batches\":" + otlp.dropFirst("{\"resourceSpans\":".count))
        let object = try #require(try PrettyJSON.object(response.body) as? [String: Any])
        #expect(Array(object.keys) == ["batches"])
        #expect(try TempoFormat.batchesJSON(spans: []) == Array("{\"batches\":[]}".utf8))
    }

    @Test func searchResponseShape() throws {
        let summary = TraceSummary(
            traceID: OTLPTraceID(hex: id)!, rootService: "frontend", rootOperation: "GET \"/checkout\"",
            startTimeUnixNano: 1_700_000_000_123_456_789, durationNanos: 557_999_999, spanCount: 8, errorCount: 1, logCount: 5)
        let json = TempoFormat.search([summary])
        #expect(String(decoding: json, as: UTF8.self) == """
            {"traces":[{"traceID":"4bf92f3577b34da6a3ce929d0e0e4736","rootServiceName":"frontend",\
            "rootTraceName":"GET \\"/checkout\\"","startTimeUnixNano":"1700000000123456789","durationMs":557,\
            "spanCount":8,"errorCount":1,"logCount":5}],"metrics":{"completedJobs":1,"totalJobs":1}}
            """)
        _ = try PrettyJSON.object(json)
        #expect(String(decoding: TempoFormat.search([]), as: UTF8.self) == "{\"traces\":[],\"metrics\":{\"completedJobs\":1,\"totalJobs\":1}}")
    }

    @Test func searchEndpointPassesTheQuery() throws {
        let reader = try FakeReader.fixture()
        let handler = QueryHandler(reader: reader)
        let response = handler.handle(
            method: "GET", path: "/api/search",
            query: "tags=service.name%3Dfrontend+name%3D%22GET+%2Fcheckout%22+http.response.status_code%3D200&minDuration=100ms&maxDuration=1s&limit=5&start=1700000000&end=1700000060",
            accept: nil)
        #expect(response.status == 200)
        let query = try #require(reader.searches.withLock { $0.last })
        #expect(query == TraceQuery(
            service: "frontend", operation: "GET /checkout", tags: ["http.response.status_code": "200"],
            minDuration: .milliseconds(100), maxDuration: .seconds(1),
            start: 1_700_000_000_000_000_000, end: 1_700_000_060_000_000_000, limit: 5))
        let object = try #require(try PrettyJSON.object(response.body) as? [String: Any])
        #expect((object["traces"] as? [[String: Any]])?.first?["traceID"] as? String == id)
    }

    @Test func tempoErrorsArePlainText() throws {
        let handler = QueryHandler(reader: try FakeReader.fixture())
        let missing = handler.handle(method: "GET", path: "/api/v2/traces/1", query: nil, accept: nil)
        #expect(missing.status == 404)
        #expect(missing.contentType == "text/plain; charset=utf-8")
        #expect(missing.text == "trace not found\n")
        let bad = handler.handle(method: "GET", path: "/api/traces/xyz", query: nil, accept: "application/protobuf")
        #expect(bad.status == 400)
        #expect(bad.text == "invalid trace id \"xyz\": expected 1 to 32 hex digits\n")
        // TraceQL outside the supported subset: a 400 that names the part.
        let search = handler.handle(method: "GET", path: "/api/search", query: "q=%7B%7D%20%7C%20count()%20%3E%202", accept: nil)
        #expect(search.status == 400)
        #expect(search.text == "invalid TraceQL query: the pipeline '|' (aggregates such as count(), select(), by()) is not supported\n")
        let echo = handler.handle(method: "GET", path: "/api/echo", query: nil, accept: nil)
        #expect(echo.status == 200 && echo.text == "echo")
    }

    @Test func acceptHeaderParsing() {
        #expect(QueryHandler.acceptsProtobuf("application/protobuf"))
        #expect(QueryHandler.acceptsProtobuf("application/json, Application/Protobuf;q=0.9"))
        #expect(QueryHandler.acceptsProtobuf("application/x-protobuf"))
        #expect(!QueryHandler.acceptsProtobuf("application/protobuf;q=0"))
        #expect(!QueryHandler.acceptsProtobuf("application/json"))
        #expect(!QueryHandler.acceptsProtobuf("*/*"))
        #expect(!QueryHandler.acceptsProtobuf(nil))
    }
}
