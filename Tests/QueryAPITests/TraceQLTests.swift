import CollectorTesting
import Foundation
import OTLPCodec
@testable import QueryAPI
import Store
import Testing

/// TraceQL on a real `TraceStore` holding 80 generated traces (written by Python's protobuf),
/// each query's matches compared with an independent evaluation in Python
/// (Fixtures/traceql_reference.py: a predicate per query, no TraceQL parser there).
@Suite struct TraceQLTests {
    struct Reference: Decodable {
        struct Query: Decodable {
            var q: String
            var traces: [String]
        }

        var traces: [String]
        var queries: [Query]
    }

    private static func percentEncoded(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    private func withReference(_ body: (QueryHandler, Reference) throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "traceql-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/traceql_reference.py")
        let data = directory + "/traces.pb"
        let run = try await CommandRunner.run(try RepoPaths.requireVenvPython(), arguments: [script.path, data])
        #expect(run.exitCode == 0, "\(run.stderr)")
        let reference = try JSONDecoder().decode(Reference.self, from: Data(run.stdout.utf8))
        let store = try TraceStore(config: StoreConfig(directory: directory + "/store"))
        defer { store.close() }
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: data)))
        // In pieces, as batches arrive.
        for piece in try OTLPSplitter.split(.traces, protobuf: bytes, maxItems: 37) {
            try store.append(kind: .spans, payload: piece.bytes, itemCount: piece.count)
        }
        try body(QueryHandler(reader: store), reference)
    }

    private func search(_ handler: QueryHandler, _ q: String, _ extra: String = "&limit=1000") throws -> (status: Int, traces: [[String: Any]], text: String) {
        let response = handler.handle(method: "GET", path: "/api/search", query: "q=\(Self.percentEncoded(q))\(extra)", accept: nil)
        let root = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
        return (response.status, root["traces"] as? [[String: Any]] ?? [], String(decoding: response.body, as: UTF8.self))
    }

    /// What the planner hands the store: a spanset's service, name, tags and numeric
    /// comparisons, from one spanset only; nothing from inside an `||`.
    @Test func thePlannerNarrowsByWhatOneSpanMustHave() throws {
        let q = try TraceQLParser.parse(#"{ span.http.response.status_code >= 500 && resource.service.name = "payment" && span.ratio < 0.5 }"#)
        #expect(q.requiredService == "payment" && q.requiredTags.isEmpty)
        #expect(q.requiredNumeric == [.init(key: "http.response.status_code", .greaterOrEqual, .int(500)), .init(key: "ratio", .less, .double(0.5))])
        let equal = try TraceQLParser.parse("{ .http.status_code = 404 && span.retries > 2 } && { name = \"x\" }")
        #expect(equal.requiredTags == ["http.status_code": "404"] && equal.requiredNumeric == [.init(key: "retries", .greater, .int(2))])
        #expect(equal.requiredName == nil)
        let either = try TraceQLParser.parse("{ span.a > 1 || span.b < 2 }")
        #expect(either.requiredNumeric.isEmpty && either.requiredTags.isEmpty)
        let notEqual = try TraceQLParser.parse("{ span.a != 1 }")
        #expect(notEqual.requiredNumeric.isEmpty && notEqual.requiredTags.isEmpty)
        // Unscoped, service.name may be the span's own attribute: a tag, not the resource's service.
        let unscoped = try TraceQLParser.parse(#"{ .service.name = "x" }"#)
        #expect(unscoped.requiredService == nil && unscoped.requiredTags == ["service.name": "x"])
    }

    @Test func everyQueryMatchesThePythonEvaluation() async throws {
        try await withReference { handler, reference in
            #expect(reference.traces.count == 80 && reference.queries.count == 23)
            var nonTrivial = 0
            for query in reference.queries {
                let result = try search(handler, query.q)
                #expect(result.status == 200, "\(query.q): \(result.text)")
                let found = result.traces.compactMap { $0["traceID"] as? String }.sorted()
                #expect(found == query.traces, "\(query.q): found \(found.count), Python \(query.traces.count)")
                if !query.traces.isEmpty && query.traces.count < reference.traces.count { nonTrivial += 1 }
            }
            // The table is not vacuous: most queries pick some traces and leave others.
            #expect(nonTrivial >= 18, "\(nonTrivial) queries split the traces")
        }
    }

    @Test func resultsCarryTheMatchedSpansetsNewestFirst() async throws {
        try await withReference { handler, _ in
            let result = try search(handler, #"{ resource.service.name = "payments" } || { status = error }"#, "&limit=3&spss=2")
            #expect(result.traces.count == 3)
            let starts = result.traces.compactMap { UInt64($0["startTimeUnixNano"] as? String ?? "") }
            #expect(starts == starts.sorted(by: >))
            for trace in result.traces {
                let sets = trace["spanSets"] as? [[String: Any]] ?? []
                #expect(!sets.isEmpty && sets.allSatisfy { (($0["spans"] as? [Any])?.count ?? 0) <= 2 && ($0["matched"] as? Int ?? 0) >= 1 })
                #expect(trace["rootServiceName"] as? String == "frontend")
                let first = (sets.first?["spans"] as? [[String: Any]])?.first ?? [:]
                #expect((first["spanID"] as? String)?.count == 16 && first["durationNanos"] is String)
            }
        }
    }

    @Test(arguments: [
        ("{ } | count() > 2", "the pipeline '|' (aggregates such as count(), select(), by()) is not supported"),
        ("{ } >> { }", "the structural operator '>>' is not supported"),
        (#"{ event.name = "x" }"#, "the event scope (event.name) is not supported"),
        ("{ span.x = nil }", "nil is not supported"),
        ("{ duration > 5 }", "duration compares with a duration such as 100ms or 1.5s"),
        ("{ status = 2 }", "status compares with = or != to error, ok or unset"),
        (#"{ name =~ "(" }"#, #"invalid regular expression "(": missing ): ("#),
        ("{ name = ", "the query ends after the operator, where a value is expected"),
        ("{ .a = 1 ", "the query ends where '}' closes the spanset"),
        ("{ !(.a = 1) }", "negation '!' is not supported"),
        ("{ .a + 1 = 2 }", "arithmetic '+' is not supported"),
        ("{ foo = 1 }", "foo is not an attribute (resource.x, span.x, .x) or a supported intrinsic (name, status, kind, duration, statusMessage, rootName, rootServiceName, traceDuration)"),
    ])
    func unsupportedPartsAreNamed(query: String, message: String) throws {
        let handler = QueryHandler(reader: FakeReader())
        let result = try search(handler, query)
        #expect(result.status == 400)
        #expect(result.text == "invalid TraceQL query: \(message)\n")
    }

    @Test func tagEndpoints() async throws {
        try await withReference { handler, _ in
            func get(_ path: String) -> String {
                String(decoding: handler.handle(method: "GET", path: path, query: nil, accept: nil).body, as: UTF8.self)
            }
            #expect(get("/api/search/tags") == #"{"tagNames":["http.method","http.status_code","ratio","region","retry","service.name"]}"#)
            #expect(get("/api/v2/search/tags") == #"{"scopes":[{"name":"span","tags":["http.method","http.status_code","ratio","retry"]},{"name":"resource","tags":["region","service.name"]},{"name":"intrinsic","tags":["duration","kind","name","rootName","rootServiceName","status","statusMessage","traceDuration"]}]}"#)
            #expect(get("/api/search/tag/service.name/values") == #"{"tagValues":["checkout","db","frontend","payments"]}"#)
            #expect(get("/api/v2/search/tag/resource.region/values") == #"{"tagValues":[{"type":"string","value":"eu"},{"type":"string","value":"us"}]}"#)
            #expect(get("/api/v2/search/tag/span.http.status_code/values") == #"{"tagValues":[{"type":"int","value":"200"},{"type":"int","value":"201"},{"type":"int","value":"404"},{"type":"int","value":"500"},{"type":"int","value":"503"}]}"#)
            #expect(get("/api/v2/search/tag/status/values") == #"{"tagValues":[{"type":"keyword","value":"error"},{"type":"keyword","value":"ok"},{"type":"keyword","value":"unset"}]}"#)
            #expect(get("/api/v2/search/tag/span.retry/values") == #"{"tagValues":[{"type":"bool","value":"false"},{"type":"bool","value":"true"}]}"#)
            #expect(get("/api/status/buildinfo").contains(#""version":"2.4.0""#))
        }
    }
}
