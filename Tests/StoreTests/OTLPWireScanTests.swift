import CollectorTesting
import OTLPCodec
import Testing

/// The wire-level helpers the store uses, in OTLPCodec: scanner, trace assembler, span query.
@Suite struct OTLPWireScanTests {
    let request = OTLPBuild.traces([
        TestResource(service: "api", items: [
            TestSpan(traceID: traceID(1), spanID: spanID(1), name: "GET /a", start: 100, end: 250,
                     attributes: ["http.status_code": .int(200), "http.method": .string("GET")]),
            TestSpan(traceID: traceID(2), spanID: spanID(2), parentSpanID: spanID(9), name: "db", start: 120, end: 130,
                     error: true, attributes: ["db.ok": .bool(false), "ratio": .double(0.5)]),
        ]),
        TestResource(service: nil, attributes: ["k8s.pod.name": .string("pod-1")], items: [
            TestSpan(traceID: traceID(1), spanID: spanID(3), parentSpanID: spanID(1), name: "child", start: 150, end: 200),
        ]),
    ])

    @Test func scansSpans() throws {
        let scan = try OTLPScanner.spans(request)
        #expect(scan.services == ["api", OTLPScanner.unknownService])
        #expect(scan.spans.count == 3)
        let first = scan.spans[0]
        #expect(first.traceID == OTLPTraceID(bytes: traceID(1)))
        #expect(first.spanID == 2 && first.parentSpanID == 0)
        #expect(first.name == "GET /a" && first.startTimeUnixNano == 100 && first.endTimeUnixNano == 250)
        #expect(!first.isError && first.resource == 0)
        #expect(scan.spans[1].isError && scan.spans[1].parentSpanID == 10)
        #expect(scan.spans[2].resource == 1)
    }

    @Test func scansLogs() throws {
        let logs = OTLPBuild.logs([TestResource(service: "api", items: [
            TestLog(time: 5, traceID: traceID(1), spanID: spanID(1), body: "a"),
            TestLog(time: 6, body: "no trace"),
        ])])
        let scan = try OTLPScanner.logs(logs)
        #expect(scan.services == ["api"])
        #expect(scan.records.map(\.traceID) == [OTLPTraceID(bytes: traceID(1)), nil])
        #expect(scan.records.map(\.timeUnixNano) == [5, 6])
        #expect(scan.records[0].spanID == 2)
    }

    @Test func rejectsMalformed() {
        #expect(throws: OTLPDecodeError.self) { try OTLPScanner.spans(Array(request.dropLast())) }
        // A span whose start time has the wrong wire type.
        var w = PBWriter()
        w.message(1) { $0.message(2) { $0.message(2) { $0.varintField(7, 1) } } }
        #expect(throws: OTLPDecodeError.self) { try OTLPScanner.spans(w.bytes) }
    }

    @Test func traceIDs() {
        let id = OTLPTraceID(bytes: traceID(0x1234))!
        #expect(id.hex == "ab000000000000000000000000001234")
        #expect(OTLPTraceID(hex: id.hex) == id)
        #expect(OTLPTraceID(hex: id.hex.uppercased()) == id)
        #expect(OTLPTraceID(hex: "zz") == nil)
        #expect(OTLPTraceID(bytes: [UInt8](repeating: 0, count: 16)) == nil)
        #expect(OTLPTraceID(bytes: [1, 2, 3]) == nil)
        #expect(id.bytes == traceID(0x1234))
        #expect(OTLPTraceID(bytes: traceID(1))! < OTLPTraceID(bytes: traceID(2))!)
    }

    @Test func assemblesOneTraceExactly() throws {
        var assembler = OTLPTraceAssembler(.traces, traceID: OTLPTraceID(bytes: traceID(1))!)
        try assembler.add(request)
        try assembler.add(request)  // the same spans again: deduplicated
        #expect(assembler.itemCount == 2 && assembler.duplicateCount == 2)
        let expected = OTLPBuild.traces([
            TestResource(service: "api", items: [
                TestSpan(traceID: traceID(1), spanID: spanID(1), name: "GET /a", start: 100, end: 250,
                         attributes: ["http.status_code": .int(200), "http.method": .string("GET")]),
            ]),
            TestResource(service: nil, attributes: ["k8s.pod.name": .string("pod-1")], items: [
                TestSpan(traceID: traceID(1), spanID: spanID(3), parentSpanID: spanID(1), name: "child", start: 150, end: 200),
            ]),
        ])
        #expect(assembler.serialized() == expected)
        var none = OTLPTraceAssembler(.traces, traceID: OTLPTraceID(bytes: traceID(7))!)
        try none.add(request)
        #expect(none.serialized().isEmpty)
    }

    @Test func mergesEqualResourcesAcrossRequests() throws {
        let id = OTLPTraceID(bytes: traceID(3))!
        var assembler = OTLPTraceAssembler(.traces, traceID: id)
        for i in 0..<3 {
            try assembler.add(OTLPBuild.traces([TestResource(service: "s", items: traceSpans(3, count: 1, firstSpan: i))]))
        }
        #expect(try resourceCount(.traces, assembler.serialized()) == 1)
        #expect(assembler.serialized() == OTLPBuild.traces([TestResource(service: "s", items: traceSpans(3, count: 3))]))
    }

    @Test func assemblesLogs() throws {
        let logs = OTLPBuild.logs([TestResource(service: "api", items: [
            TestLog(time: 5, traceID: traceID(1), spanID: spanID(1), body: "a"),
            TestLog(time: 6, traceID: traceID(2), body: "other"),
            TestLog(time: 7, traceID: traceID(1), body: "b"),
        ])])
        var assembler = OTLPTraceAssembler(.logs, traceID: OTLPTraceID(bytes: traceID(1))!)
        try assembler.add(logs)
        try assembler.add(logs)
        #expect(assembler.itemCount == 2 && assembler.duplicateCount == 2)
        #expect(try decodeLogs(assembler.serialized()).map(\.body) == ["a", "b"])
    }

    @Test func spanQueryMatchesOnOneSpan() throws {
        func ids(_ q: OTLPSpanQuery) throws -> Set<OTLPTraceID> { try q.matchingTraces(request) }
        let t1 = OTLPTraceID(bytes: traceID(1))!, t2 = OTLPTraceID(bytes: traceID(2))!
        #expect(try ids(OTLPSpanQuery()) == [t1, t2])
        #expect(try ids(OTLPSpanQuery(service: "api")) == [t1, t2])
        #expect(try ids(OTLPSpanQuery(operation: "db")) == [t2])
        #expect(try ids(OTLPSpanQuery(tags: ["http.status_code": "200"])) == [t1])
        #expect(try ids(OTLPSpanQuery(tags: ["http.status_code": "200", "http.method": "GET"])) == [t1])
        #expect(try ids(OTLPSpanQuery(tags: ["http.status_code": "200", "db.ok": "false"])) == [])
        #expect(try ids(OTLPSpanQuery(tags: ["db.ok": "false", "ratio": "0.5"])) == [t2])
        #expect(try ids(OTLPSpanQuery(tags: ["error": "true"])) == [t2])
        #expect(try ids(OTLPSpanQuery(tags: ["k8s.pod.name": "pod-1"])) == [t1])
        #expect(try ids(OTLPSpanQuery(service: "api", tags: ["k8s.pod.name": "pod-1"])) == [])
        #expect(try ids(OTLPSpanQuery(operation: "GET /a", tags: ["error": "true"])) == [])
    }

    /// Numeric conditions: integers against an integer exactly (no rounding through doubles
    /// near 2^63), doubles and mixed as doubles, strings and booleans never, resource attributes
    /// too, and together with tags on one same span.
    @Test func numericConditionsCompareNumbersOnly() throws {
        let numbers = OTLPBuild.traces([
            TestResource(service: "api", attributes: ["replicas": .int(3)], items: [
                TestSpan(traceID: traceID(1), spanID: spanID(1), name: "a", start: 1, end: 2,
                         attributes: ["code": .int(503), "big": .int(Int64.max), "method": .string("GET")]),
                TestSpan(traceID: traceID(2), spanID: spanID(2), name: "b", start: 1, end: 2,
                         attributes: ["code": .double(499.5), "big": .int(Int64.max - 1), "method": .string("POST")]),
                TestSpan(traceID: traceID(3), spanID: spanID(3), name: "c", start: 1, end: 2,
                         attributes: ["code": .string("600"), "flag": .bool(true)]),
            ]),
        ])
        func ids(_ conditions: [OTLPSpanQuery.NumericCondition], tags: [String: String] = [:]) throws -> [Int] {
            let found = try OTLPSpanQuery(tags: tags, numeric: conditions).matchingTraces(numbers)
            return (1...3).filter { found.contains(OTLPTraceID(bytes: traceID($0))!) }
        }
        #expect(try ids([.init(key: "code", .greaterOrEqual, .int(500))]) == [1])
        #expect(try ids([.init(key: "code", .greater, .double(499))]) == [1, 2])
        #expect(try ids([.init(key: "code", .less, .int(500))]) == [2])
        #expect(try ids([.init(key: "code", .lessOrEqual, .double(499.5))]) == [2])
        #expect(try ids([.init(key: "code", .greaterOrEqual, .int(0)), .init(key: "code", .less, .int(503))]) == [2])
        #expect(try ids([.init(key: "big", .greater, .int(Int64.max - 1))]) == [1])
        #expect(try ids([.init(key: "flag", .greaterOrEqual, .int(0))]) == [])
        #expect(try ids([.init(key: "replicas", .greater, .int(2))]) == [1, 2, 3])
        #expect(try ids([.init(key: "code", .greater, .int(400))], tags: ["method": "POST"]) == [2])
        #expect(try ids([.init(key: "code", .greater, .int(500))], tags: ["method": "POST"]) == [])
    }

    /// An AnyValue with an unknown field after its value is read as the evaluator reads it:
    /// the unknown field is skipped, not taken for the value.
    @Test func unknownFieldsInAValueAreSkipped() throws {
        func field(_ number: UInt32, _ payload: [UInt8]) -> [UInt8] {
            var w = OTLPWireWriter()
            w.bytesField(number, payload)
            return w.bytes
        }
        func varint(_ number: UInt32, _ value: UInt64) -> [UInt8] {
            var w = OTLPWireWriter()
            w.varintField(number, value)
            return w.bytes
        }
        let anyValue = varint(3, 7) + varint(99, 1)          // int_value 7, then field 99
        let keyValue = field(1, Array("x".utf8)) + field(2, anyValue)
        let span = field(1, traceID(5)) + field(2, spanID(5)) + field(5, Array("s".utf8)) + field(9, keyValue)
        let request = field(1, field(2, field(2, span)))
        let found = try OTLPSpanQuery(numeric: [.init(key: "x", .greater, .int(5))]).matchingTraces(request)
        #expect(found == [OTLPTraceID(bytes: traceID(5))!])
        #expect(try OTLPSpanQuery(tags: ["x": "7"]).matchingTraces(request) == [OTLPTraceID(bytes: traceID(5))!])
    }
}
