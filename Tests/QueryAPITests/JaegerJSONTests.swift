import Foundation
import OTLPCodec
@testable import QueryAPI
import Testing

@Suite struct JaegerJSONTests {
    /// The whole trace object, byte for byte (indented for reading; see `PrettyJSON`).
    @Test func fixtureTraceMatchesGolden() throws {
        let json = try JaegerJSON.trace(spans: try Fixture.bytes("trace.pb"), logs: try Fixture.bytes("logs.pb"))
        _ = try PrettyJSON.object(json)
        try Fixture.expectGolden(PrettyJSON.format(json), "trace.jaeger.json")
    }

    @Test func traceShape() throws {
        let json = try JaegerJSON.trace(spans: try Fixture.bytes("trace.pb"), logs: try Fixture.bytes("logs.pb"))
        let trace = try #require(try PrettyJSON.object(json) as? [String: Any])
        #expect(Set(trace.keys) == ["traceID", "spans", "processes", "warnings"])
        #expect(trace["traceID"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(trace["warnings"] is NSNull)
        let processes = try #require(trace["processes"] as? [String: [String: Any]])
        // Four resource entries, two of them the same frontend resource: three processes.
        #expect(processes.keys.sorted() == ["p1", "p2", "p3"])
        #expect(processes["p1"]?["serviceName"] as? String == "frontend")
        #expect(processes["p2"]?["serviceName"] as? String == "checkout")
        #expect(processes["p3"]?["serviceName"] as? String == "payments")
        let p1Tags = try #require(processes["p1"]?["tags"] as? [[String: Any]])
        #expect(p1Tags.map { $0["key"] as? String } == ["service.version", "k8s.pod.name"])

        let spans = try #require(trace["spans"] as? [[String: Any]])
        #expect(spans.count == 8)
        for span in spans {
            #expect(Set(span.keys) == ["traceID", "spanID", "operationName", "references", "startTime", "duration",
                                       "tags", "logs", "processID", "warnings"])
        }
        let byName = Dictionary(uniqueKeysWithValues: spans.map { ($0["operationName"] as! String, $0) })
        let render = try #require(byName["render receipt"])
        #expect(render["processID"] as? String == "p1")

        let select = try #require(byName["SELECT orders"])
        #expect(select["startTime"] as? Int == 1_700_000_000_020_000)
        #expect(select["duration"] as? Int == 30_000)
        let refs = try #require(select["references"] as? [[String: String]])
        #expect(refs == [["refType": "CHILD_OF", "traceID": "4bf92f3577b34da6a3ce929d0e0e4736", "spanID": "53995c3f42cd8ad8"]])
        let tags = try #require(select["tags"] as? [[String: Any]])
        let tagKeys = tags.map { $0["key"] as! String }
        #expect(tagKeys == ["otel.scope.name", "db.system", "db.statement", "span.kind", "otel.status_code", "error",
                            "otel.status_description"])
        let error = try #require(tags.first { $0["key"] as? String == "error" })
        #expect(error["type"] as? String == "bool")
        #expect(error["value"] as? Bool == true)
        // The exception event and the ERROR log record, in time order.
        let logs = try #require(select["logs"] as? [[String: Any]])
        #expect(logs.map { $0["timestamp"] as? Int } == [1_700_000_000_049_000, 1_700_000_000_049_500])
        let recordFields = try #require(logs[1]["fields"] as? [[String: Any]])
        #expect(recordFields.map { $0["key"] as! String } == ["level", "message", "db.system"])
    }

    @Test func attributeTypes() throws {
        let json = try JaegerJSON.trace(spans: try Fixture.bytes("trace.pb"))
        let trace = try #require(try PrettyJSON.object(json) as? [String: Any])
        let spans = try #require(trace["spans"] as? [[String: Any]])
        let checkout = try #require(spans.first { $0["operationName"] as? String == "POST /api/checkout" })
        let tags = try #require(checkout["tags"] as? [[String: Any]])
        func tag(_ key: String) -> (type: String?, value: Any?) {
            let t = tags.first { $0["key"] as? String == key }
            return (t?["type"] as? String, t?["value"])
        }
        #expect(tag("cart.items").type == "int64" && tag("cart.items").value as? Int == 3)
        #expect(tag("cart.total").type == "float64" && tag("cart.total").value as? Double == 59.9)
        #expect(tag("vip").type == "bool" && tag("vip").value as? Bool == true)
        #expect(tag("labels").type == "string" && tag("labels").value as? String == "[\"a\",1,false]")
        #expect(tag("limits").type == "string" && tag("limits").value as? String == "{\"max\":5,\"unit\":\"item\"}")
        #expect(tag("blob").type == "binary" && tag("blob").value as? String == "AAH+")
        #expect(tag("note").value as? String == "naïve ✓ \"quoted\"\nsecond line")
        #expect(tag("w3c.tracestate").value as? String == "vendor=x")
        #expect(tag("span.kind").value as? String == "server")
        #expect(tag("otel.scope.version").type == nil)  // the scope has no version
        let refs = try #require(checkout["references"] as? [[String: String]])
        #expect(refs.map { $0["refType"] } == ["CHILD_OF", "FOLLOWS_FROM"])
        #expect(refs[1]["traceID"] == "0af7651916cd43dd8448eb211c80319c")
        // Without logs, only span events are span logs.
        let root = try #require(spans.first { $0["operationName"] as? String == "GET /checkout" })
        #expect((root["logs"] as? [Any])?.isEmpty == true)
    }

    /// Records without a span id, or with one not in the trace, are under the root span.
    @Test func logsWithoutKnownSpanGoUnderTheRoot() throws {
        let json = try JaegerJSON.trace(spans: try Fixture.bytes("trace.pb"), logs: try Fixture.bytes("logs.pb"))
        let trace = try #require(try PrettyJSON.object(json) as? [String: Any])
        let spans = try #require(trace["spans"] as? [[String: Any]])
        let root = try #require(spans.first { $0["operationName"] as? String == "GET /checkout" })
        let logs = try #require(root["logs"] as? [[String: Any]])
        let messages = logs.map { entry in
            ((entry["fields"] as? [[String: Any]]) ?? []).first { $0["key"] as? String == "message" }?["value"] as? String
        }
        #expect(messages == ["checkout started", "settlement queued", "request finished"])
        let done = try #require(logs[2]["fields"] as? [[String: Any]])
        #expect(done.map { $0["key"] as! String } == ["event", "level", "message"])
        #expect(done[1]["value"] as? String == "INFO2")
        let checkout = try #require(spans.first { $0["operationName"] as? String == "POST /api/checkout" })
        let structured = try #require((checkout["logs"] as? [[String: Any]])?.first?["fields"] as? [[String: Any]])
        #expect(structured.first { $0["key"] as? String == "message" }?["value"] as? String == "{\"msg\":\"slow checkout\",\"ms\":70}")
        #expect(structured.first { $0["key"] as? String == "level" }?["value"] as? String == "WARN")
    }

    @Test func malformedBytesThrow() {
        #expect(throws: QueryError.self) { try JaegerJSON.trace(spans: [0x0A, 0x05, 0x01]) }
        #expect(throws: QueryError.self) { try JaegerJSON.trace(spans: [], logs: [0xFF]) }
    }

    @Test func severityNames() {
        #expect(JaegerLogIndex.severity(text: "", number: 0) == "")
        #expect(JaegerLogIndex.severity(text: "", number: 1) == "TRACE")
        #expect(JaegerLogIndex.severity(text: "", number: 12) == "INFO4")
        #expect(JaegerLogIndex.severity(text: "", number: 17) == "ERROR")
        #expect(JaegerLogIndex.severity(text: "", number: 24) == "FATAL4")
        #expect(JaegerLogIndex.severity(text: "oops", number: 17) == "oops")
    }

    @Test func jsonEscapingAndBase64() {
        var out = JSONOutput()
        out.string("a\"b\\c\n\u{01}é")
        #expect(String(decoding: out.bytes, as: UTF8.self) == "\"a\\\"b\\\\c\\n\\u0001é\"")
        for (input, expected) in [([] as [UInt8], ""), ([0x66], "Zg=="), ([0x66, 0x6F], "Zm8="), ([0x66, 0x6F, 0x6F], "Zm9v")] {
            #expect(input.withUnsafeBytes { JSONOutput.base64($0) } == expected)
        }
        var doubles = JSONOutput()
        doubles.double(.nan)
        doubles.double(-.infinity)
        doubles.double(0.5)
        #expect(String(decoding: doubles.bytes, as: UTF8.self) == "\"NaN\"\"-Infinity\"0.5")
    }
}
