import Testing
@testable import OTLPCodec

/// The transcoder (JSON straight to wire bytes) against the reference decoder (protobuf-c
/// messages, packed by protobuf-c): the same bytes, or the same error, for every input here.
/// The fixtures (written by Python's protobuf, see Fixtures/gen_fixtures.py) are checked in
/// OTLPJSONTests; these cases aim at what the transcoder does differently: fields out of
/// order, keys given twice, zero values, oneofs, lengths of every varint size.
@Suite struct OTLPJSONTranscoderTests {
    private func span(_ fields: String) -> String {
        #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"# + fields + "}]}]}]}"
    }

    private func log(_ fields: String) -> String {
        #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"# + fields + "}]}]}]}"
    }

    /// Both decoders on `json`: equal bytes, or errors with equal messages. Returns the bytes.
    @discardableResult
    private func same(_ signal: OTLPSignal, _ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> [UInt8]? {
        let input = Array(json.utf8)
        let transcoded = Result { () throws(OTLPDecodeError) in try OTLPJSON.decode(signal, json: input) }
        let reference = Result { () throws(OTLPDecodeError) in try OTLPJSON.referenceDecode(signal, json: input) }
        switch (transcoded, reference) {
        case (.success(let a), .success(let b)):
            #expect(a == b, "\(json)", sourceLocation: sourceLocation)
            return a
        case (.failure(let a), .failure(let b)):
            #expect(a.message == b.message, "\(json)", sourceLocation: sourceLocation)
            return nil
        default:
            Issue.record("transcoder \(transcoded), reference \(reference) for \(json)", sourceLocation: sourceLocation)
            return nil
        }
    }

    @Test func fixturesGiveTheReferenceBytes() throws {
        for (signal, name) in [(OTLPSignal.traces, "traces"), (.traces, "traces_input"), (.logs, "logs"), (.logs, "logs_input")] {
            let json = String(decoding: try Fixture.bytes("\(name).json"), as: UTF8.self)
            #expect(same(signal, json) == (try Fixture.bytes("\(name).pb")), "\(name)")
        }
    }

    @Test(arguments: [
        // Every field of a span, in reverse order of number.
        #""flags":257,"status":{"code":2,"message":"bad"},"droppedLinksCount":1,"links":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708"}],"#
            + #""droppedEventsCount":2,"events":[{"name":"e","timeUnixNano":"5"}],"droppedAttributesCount":3,"#
            + #""attributes":[{"key":"k","value":{"boolValue":true}}],"endTimeUnixNano":"9","startTimeUnixNano":"8","kind":2,"name":"n","#
            + #""parentSpanId":"1111111111111111","traceState":"a=b","spanId":"2222222222222222","traceId":"33333333333333333333333333333333""#,
        // A singular field given twice: the last wins, also when it is zero, empty or absent.
        #""kind":2,"kind":0"#,
        #""name":"x","name":"""#,
        #""traceId":"33333333333333333333333333333333","traceId":"""#,
        #""status":{"code":2},"status":{}"#,
        #""status":{"code":2},"name":"n","status":{"message":"m"}"#,
        #""flags":128,"name":"n","flags":128"#,
        #""flags":5,"flags":0"#,
        #""droppedAttributesCount":5,"name":"n","droppedAttributesCount":0"#,
        #""startTimeUnixNano":"5","startTimeUnixNano":"0","endTimeUnixNano":"-0""#,
        #""status":{"message":"m","code":1,"message":"","code":0}"#,
        #""attributes":[{"key":"d","value":{"doubleValue":1.5,"doubleValue":-0.0}}]"#,
        // null is "not set": an earlier value stays.
        #""name":"x","name":null"#,
        // A repeated field given twice appends, around other fields.
        #""attributes":[{"key":"a"}],"name":"n","attributes":[{"key":"b"},{"key":"c"}],"kind":1"#,
        // Zero values of singular scalars are left out; oneof members are written even when zero.
        #""kind":0,"flags":0,"droppedAttributesCount":0,"startTimeUnixNano":"0","status":{"code":0,"message":""}"#,
        #""attributes":[{"key":"","value":{"intValue":0}},{"key":"b","value":{"boolValue":false}},{"key":"d","value":{"doubleValue":0}},"#
            + #"{"key":"s","value":{"stringValue":""}},{"key":"y","value":{"bytesValue":""}},{"key":"z","value":{"doubleValue":-0.0}}]"#,
        // A oneof member given twice: the last wins; an empty kvlist and array are messages.
        #""attributes":[{"key":"k","value":{"intValue":1,"int_value":"-1"}},{"key":"l","value":{"kvlistValue":{}}},{"key":"m","value":{"arrayValue":{"values":[{}]}}}]"#,
        // Negative int32 (enum) values take ten bytes; negative zero doubles are left out.
        #""status":{"code":-1},"kind":-2147483648"#,
        // Snake case, unknown keys between known ones, whitespace.
        #" "trace_id" : "0102030405060708090A0B0C0D0E0F10" , "unknown":{"a":[1,2,{"b":null}]}, "span_id":"0102030405060708", "end_time_unix_nano":1e3 "#,
        // Lengths of one, two and three bytes.
        #""name":""# + String(repeating: "a", count: 127) + #"""#,
        #""name":""# + String(repeating: "b", count: 128) + #"""#,
        #""name":""# + String(repeating: "c", count: 20_000) + #"""#,
        #""attributes":[{"key":"k","value":{"stringValue":""# + String(repeating: "d", count: 16_383) + #""}}]"#,
        #""attributes":[{"key":"k","value":{"bytesValue":""# + String(repeating: "QUJD", count: 6_000) + #""}}]"#,
        // Escapes shrink a string as it is read.
        #""name":"\u00e9\n\"\ud83d\ude00""#,
    ])
    func spansGiveTheReferenceBytes(fields: String) {
        #expect(same(.traces, span(fields)) != nil)
    }

    @Test func logsGiveTheReferenceBytes() {
        #expect(same(.logs, log(#""severityNumber":"SEVERITY_NUMBER_ERROR","body":{"stringValue":"b"},"timeUnixNano":"1","observedTimeUnixNano":"2","flags":1"#)) != nil)
        #expect(same(.logs, log(#""eventName":"e","body":{"kvlistValue":{"values":[{"key":"a","value":{"doubleValue":"NaN"}}]}},"severityText":"W""#)) != nil)
        #expect(same(.logs, #"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"s"}}]},"schemaUrl":"u"},{}]}"#) != nil)
    }

    @Test(arguments: [
        #""kind":"SPAN_KIND_NOPE""#,
        #""attributes":[{"key":"k","value":{"stringValue":"a","intValue":1}}]"#,
        #""attributes":[null]"#,
        #""traceId":"0102""#,
        #""spanId":"zz02030405060708""#,
        #""attributes":[{"key":"k","value":{"bytesValue":"!!"}}]"#,
        #""flags":-1"#,
        #""name":1"#,
        #""status":[]"#,
        #""attributes":{}"#,
        #""droppedAttributesCount":4294967296"#,
        #""name":"x",}"#,
    ])
    func errorsAreTheReferenceErrors(fields: String) {
        #expect(same(.traces, span(fields)) == nil)
    }

    @Test func emptyAndNestedEmptyRequests() {
        #expect(same(.traces, "{}") == [])
        #expect(same(.traces, #"{"resourceSpans":[{}]}"#) == [0x0A, 0x00])
        #expect(same(.traces, #"{"resourceSpans":[{"scopeSpans":[{"spans":[{}]}]}]}"#) == [0x0A, 0x04, 0x12, 0x02, 0x12, 0x00])
    }

    /// protobuf-c cuts a string at U+0000; the transcoder keeps it whole.
    @Test func stringsKeepU0000() throws {
        let json = span(#""name":"a\u0000b""#)
        let protobuf = try OTLPJSON.decode(.traces, json: Array(json.utf8))
        #expect(protobuf.suffix(5) == [0x2A, 0x03, 0x61, 0x00, 0x62])
        let reference = try OTLPJSON.referenceDecode(.traces, json: Array(json.utf8))
        #expect(reference.suffix(3) == [0x2A, 0x01, 0x61])
        #expect(try OTLPValidator.counts(.traces, protobuf: protobuf).items == 1)
    }
}
