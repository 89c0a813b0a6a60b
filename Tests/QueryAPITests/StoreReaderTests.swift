import Foundation
import OTLPCodec
@testable import QueryAPI
import Store
import Testing

/// The handler over a real `TraceStore` (the production reader) holding the fixture trace,
/// its spans sent in two batches.
@Suite struct StoreReaderTests {
    private func withStore(_ body: (QueryHandler) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "queryapi-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try TraceStore(config: StoreConfig(directory: directory))
        defer { store.close() }
        let spans = try OTLPSplitter.split(.traces, protobuf: try Fixture.bytes("trace.pb"), maxItems: 5)
        #expect(spans.count == 2)
        for piece in spans.reversed() { try store.append(kind: .spans, payload: piece.bytes, itemCount: piece.count) }
        try store.append(kind: .logs, payload: try Fixture.bytes("logs.pb"), itemCount: 5)
        try body(QueryHandler(reader: store))
    }

    private func json(_ response: QueryResponse) throws -> [String: Any] {
        try #require(try PrettyJSON.object(response.body) as? [String: Any])
    }

    @Test func servicesOperationsAndTrace() throws {
        try withStore { handler in
            let services = try json(handler.handle(method: "GET", path: "/api/services", query: nil, accept: nil))
            #expect(services["data"] as? [String] == ["checkout", "frontend", "payments"])
            let operations = try json(handler.handle(method: "GET", path: "/api/services/checkout/operations", query: nil, accept: nil))
            #expect(operations["data"] as? [String] == ["POST /api/checkout", "SELECT orders", "publish order"])

            let response = handler.handle(method: "GET", path: "/api/traces/4bf92f3577b34da6a3ce929d0e0e4736", query: nil, accept: nil)
            #expect(response.status == 200)
            let trace = try #require((try json(response)["data"] as? [[String: Any]])?.first)
            let spans = try #require(trace["spans"] as? [[String: Any]])
            #expect(spans.count == 8)
            #expect((trace["processes"] as? [String: Any])?.count == 3)
            let logs = spans.flatMap { ($0["logs"] as? [Any]) ?? [] }
            #expect(logs.count == 5 + 2)  // 5 log records and 2 span events

            let protobuf = handler.handle(method: "GET", path: "/api/traces/4bf92f3577b34da6a3ce929d0e0e4736", query: nil,
                                          accept: "application/protobuf")
            #expect(try OTLPValidator.count(.traces, protobuf: protobuf.body) == 8)
        }
    }

    @Test func searches() throws {
        try withStore { handler in
            let jaeger = try json(handler.handle(
                method: "GET", path: "/api/traces", query: "service=checkout&operation=SELECT%20orders&tags=%7B%22error%22%3A%22true%22%7D",
                accept: nil))
            #expect((jaeger["data"] as? [[String: Any]])?.map { $0["traceID"] as? String } == ["4bf92f3577b34da6a3ce929d0e0e4736"])
            let none = try json(handler.handle(method: "GET", path: "/api/traces", query: "service=checkout&minDuration=1s", accept: nil))
            #expect((none["data"] as? [Any])?.isEmpty == true)

            let tempo = try json(handler.handle(method: "GET", path: "/api/search", query: "tags=service.name%3Dpayments&limit=3", accept: nil))
            let found = try #require((tempo["traces"] as? [[String: Any]])?.first)
            #expect(found["traceID"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
            #expect(found["rootServiceName"] as? String == "frontend")
            #expect(found["rootTraceName"] as? String == "GET /checkout")
            #expect(found["startTimeUnixNano"] as? String == "1700000000000000000")
            #expect(found["durationMs"] as? Int == 140)
            #expect(found["spanCount"] as? Int == 8)
            #expect(found["errorCount"] as? Int == 1)
            #expect(found["logCount"] as? Int == 5)
        }
    }
}
