import Foundation
import Testing
@testable import OTLPCodec

@Suite struct OTLPJSONTests {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Byte offset of the first occurrence of `needle` in `json`.
    private func offset(of needle: String, in json: String) -> Int {
        json.utf8.distance(from: json.startIndex, to: json.range(of: needle)!.lowerBound)
    }

    // MARK: Encoding (protobuf -> JSON)

    @Test func encodesTracesExactlyLikeTheReference() throws {
        let json = try OTLPJSON.encode(.traces, protobuf: Fixture.bytes("traces.pb"))
        #expect(text(json) == (try Fixture.text("traces.json")))
    }

    @Test func encodesLogsExactlyLikeTheReference() throws {
        let json = try OTLPJSON.encode(.logs, protobuf: Fixture.bytes("logs.pb"))
        #expect(text(json) == (try Fixture.text("logs.json")))
    }

    @Test func encodedShape() throws {
        let input = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","#
            + #""span_id":"EEE19B7EC3C1B174","start_time_unix_nano":1700000000123456789,"kind":"SPAN_KIND_CLIENT","#
            + #""dropped_attributes_count":3,"attributes":[{"key":"n","value":{"intValue":0}}]}]}]}]}"#
        let protobuf = try OTLPJSON.decode(.traces, json: Array(input.utf8))
        #expect(text(try OTLPJSON.encode(.traces, protobuf: protobuf)) ==
            #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","#
            + #""spanId":"eee19b7ec3c1b174","kind":3,"startTimeUnixNano":"1700000000123456789","#
            + #""attributes":[{"key":"n","value":{"intValue":"0"}}],"droppedAttributesCount":3}]}]}]}"#)
    }

    @Test func emptyRequestIsAnEmptyObject() throws {
        #expect(text(try OTLPJSON.encode(.traces, protobuf: [])) == "{}")
        #expect(try OTLPJSON.decode(.logs, json: Array(" { } \n".utf8)) == [])
    }

    @Test func encodingRejectsMalformedProtobuf() throws {
        let bytes = try Fixture.bytes("traces.pb").dropLast(3)
        let error = #expect(throws: OTLPDecodeError.self) { try OTLPJSON.encode(.traces, protobuf: Array(bytes)) }
        #expect(error?.code == .malformedProtobuf)
    }

    // MARK: Decoding (JSON -> protobuf)

    @Test func decodesHandWrittenTracesLikeTheReference() throws {
        let protobuf = try OTLPJSON.decode(.traces, json: Fixture.bytes("traces_input.json"))
        #expect(protobuf == (try Fixture.bytes("traces_input.pb")))
    }

    @Test func decodesHandWrittenLogsLikeTheReference() throws {
        let protobuf = try OTLPJSON.decode(.logs, json: Fixture.bytes("logs_input.json"))
        #expect(protobuf == (try Fixture.bytes("logs_input.pb")))
    }

    @Test func roundTripsTheReferenceJSON() throws {
        for (signal, name) in [(OTLPSignal.traces, "traces"), (.logs, "logs")] {
            let protobuf = try OTLPJSON.decode(signal, json: Fixture.bytes("\(name).json"))
            #expect(protobuf == (try Fixture.bytes("\(name).pb")), "\(name)")
            #expect(try OTLPJSON.encode(signal, protobuf: protobuf) == (try Fixture.bytes("\(name).json")))
        }
    }

    @Test func int64KeepsFullPrecision() throws {
        let input = #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":18446744073709551615,"#
            + #""body":{"intValue":-9223372036854775808}}]}]}]}"#
        let json = text(try OTLPJSON.encode(.logs, protobuf: OTLPJSON.decode(.logs, json: Array(input.utf8))))
        #expect(json.contains(#""timeUnixNano":"18446744073709551615""#))
        #expect(json.contains(#""intValue":"-9223372036854775808""#))
    }

    // MARK: Errors

    @Test(arguments: [
        ("", "invalid JSON at offset 0: expected an object, found end of input"),
        ("  [1]", "invalid OTLP JSON at offset 2: expected an object, found an array"),
        (#"{"resourceSpans": [}"#, "invalid JSON at offset 19: expected an object, found '}'"),
        (#"{"resourceSpans": []"#, "invalid JSON at offset 20: expected ',' or '}' in an object, found end of input"),
        (#"{"a": tru}"#, "invalid JSON at offset 6: invalid literal"),
        (#"{"a": nulll}"#, "invalid JSON at offset 6: invalid literal"),
        ("{\"a\": \"\u{01}\"}", "invalid JSON at offset 7: control character 0x01 in string"),
        (#"{"a": 01}"#, "invalid JSON at offset 6: invalid number"),
        (#"{"a": -}"#, "invalid JSON at offset 6: invalid number"),
        (#"{"a": 1.}"#, "invalid JSON at offset 6: invalid number"),
        (#"{"a": 1,}"#, "invalid JSON at offset 8: expected a string, found '}'"),
        (#"{"a" 1}"#, "invalid JSON at offset 5: expected ':' after an object key, found '1'"),
        (#"{"a": [1 2]}"#, "invalid JSON at offset 9: expected ',' or ']' in an array, found '2'"),
        (#"{"a": "\q"}"#, #"invalid JSON at offset 7: invalid escape '\q' in string"#),
        (#"{"a": "\u12"}"#, #"invalid JSON at offset 7: invalid \u escape"#),
        (#"{"a": "abc"#, "invalid JSON at offset 6: unterminated string"),
        (#"{} x"#, "invalid JSON at offset 3: unexpected data after the JSON value"),
        (#"{"a": 'x'}"#, "invalid JSON at offset 6: expected a JSON value, found '''"),
        (#"{"resourceSpans": {}}"#, "invalid OTLP JSON at offset 18 (resourceSpans): expected an array, found an object"),
        (#"{"resourceSpans": [null]}"#, "invalid OTLP JSON at offset 19 (resourceSpans[0]): null is not allowed in an array"),
    ])
    func malformedJSON(input: String, message: String) {
        let error = #expect(throws: OTLPDecodeError.self) { try OTLPJSON.decode(.traces, json: Array(input.utf8)) }
        #expect(error?.message == message)
    }

    @Test func invalidUTF8IsRejected() {
        let input: [UInt8] = Array(#"{"a": ""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        let error = #expect(throws: OTLPDecodeError.self) { try OTLPJSON.decode(.traces, json: input) }
        #expect(error?.message == "invalid JSON at offset 7: invalid UTF-8 in string")
    }

    /// A traces request with one span whose members are `span`.
    private func spanJSON(_ span: String) -> String {
        #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"# + span + "}]}]}]}"
    }

    private func expectOTLPError(_ json: String, at needle: String, path: String, _ reason: String,
                                 sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: OTLPDecodeError.self, sourceLocation: sourceLocation) {
            try OTLPJSON.decode(.traces, json: Array(json.utf8))
        }
        let at = offset(of: needle, in: json)
        #expect(error?.code == .invalidOTLPJSON, sourceLocation: sourceLocation)
        #expect(error?.path == path, sourceLocation: sourceLocation)
        #expect(error?.message == "invalid OTLP JSON at offset \(at) (\(path)): \(reason)", sourceLocation: sourceLocation)
    }

    @Test func badIdsAreRejected() {
        let spans = "resourceSpans[0].scopeSpans[0].spans[0]"
        expectOTLPError(spanJSON(#""traceId":"5b8efff798038103d269b633813fc6""#), at: #""5b8e"#, path: spans + ".traceId",
                        "expected 32 hex digits (16 bytes), got 30 characters")
        expectOTLPError(spanJSON(#""spanId":"eee19b7ec3c1b17z""#), at: #""eee1"#, path: spans + ".spanId",
                        "invalid hex digit in id")
        expectOTLPError(spanJSON(#""links":[{},{"span_id":"00"}]"#), at: #""00""#, path: spans + ".links[1].spanId",
                        "expected 16 hex digits (8 bytes), got 2 characters")
    }

    @Test func wrongValueTypesAreRejected() {
        let spans = "resourceSpans[0].scopeSpans[0].spans[0]"
        expectOTLPError(spanJSON(#""name":5"#), at: "5", path: spans + ".name", "expected a string, found a number")
        expectOTLPError(spanJSON(#""kind":"SPAN_KIND_BOGUS""#), at: #""SPAN_KIND_BOGUS""#, path: spans + ".kind",
                        #"unknown opentelemetry.proto.trace.v1.Span.SpanKind value "SPAN_KIND_BOGUS""#)
        expectOTLPError(spanJSON(#""droppedAttributesCount":-1"#), at: "-1", path: spans + ".droppedAttributesCount",
                        "integer out of range")
        expectOTLPError(spanJSON(#""flags":4294967296"#), at: "4294967296", path: spans + ".flags", "integer out of range")
        expectOTLPError(spanJSON(#""startTimeUnixNano":"12x""#), at: #""12x""#, path: spans + ".startTimeUnixNano",
                        #"expected a number in the string "12x""#)
        expectOTLPError(spanJSON(#""endTimeUnixNano":1.5"#), at: "1.5", path: spans + ".endTimeUnixNano",
                        "expected an integer, got 1.5")
        expectOTLPError(spanJSON(#""status":{"code":true}"#), at: "true", path: spans + ".status.code",
                        "expected a number, found true")
        expectOTLPError(spanJSON(#""attributes":[{"key":"k","value":{"boolValue":"yes"}}]"#), at: #""yes""#,
                        path: spans + ".attributes[0].value.boolValue", "expected true or false, found a string")
        expectOTLPError(spanJSON(#""attributes":[{"key":"k","value":{"bytesValue":"*"}}]"#), at: #""*""#,
                        path: spans + ".attributes[0].value.bytesValue", "invalid base64")
        expectOTLPError(spanJSON(#""attributes":[{"key":"k","value":{"doubleValue":"fast"}}]"#), at: #""fast""#,
                        path: spans + ".attributes[0].value.doubleValue",
                        #"expected a number, "NaN", "Infinity" or "-Infinity""#)
        expectOTLPError(spanJSON(#""attributes":[{"key":"k","value":{"intValue":"9223372036854775808"}}]"#),
                        at: #""9223372036854775808""#, path: spans + ".attributes[0].value.intValue", "integer out of range")
    }

    @Test func oneofAllowsOneMember() {
        let json = spanJSON(#""attributes":[{"key":"k","value":{"stringValue":"a","intValue":1}}]"#)
        expectOTLPError(json, at: "1}", path: "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.intValue",
                        "'intValue' and 'stringValue' are members of one oneof; only one may be set")
    }

    @Test func repeatedKeysAndDuplicatesFollowTheRules() throws {
        // Singular: the last value wins; a oneof member given twice: the last wins; repeated: appends.
        let json = spanJSON(#""name":"first","name":"second","attributes":[{"key":"a","value":{"intValue":1,"intValue":2}}],"#
            + #""attributes":[{"key":"b","value":{"stringValue":"x","string_value":"y"}}]"#)
        let back = text(try OTLPJSON.encode(.traces, protobuf: OTLPJSON.decode(.traces, json: Array(json.utf8))))
        #expect(back == #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"second","attributes":["#
            + #"{"key":"a","value":{"intValue":"2"}},{"key":"b","value":{"stringValue":"y"}}]}]}]}]}"#)
    }

    @Test func enumsAcceptNamesNumbersAndNumericStrings() throws {
        for kind in [#""SPAN_KIND_CLIENT""#, "3", #""3""#, #""\u0033""#, "3.0"] {
            let json = spanJSON(#""kind":"# + kind)
            let back = text(try OTLPJSON.encode(.traces, protobuf: OTLPJSON.decode(.traces, json: Array(json.utf8))))
            #expect(back == #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":3}]}]}]}"#, "\(kind)")
        }
    }

    @Test func deepNestingIsBounded() {
        var value = #"{"intValue":1}"#
        for _ in 0..<60 { value = #"{"arrayValue":{"values":["# + value + "]}}" }
        let json = spanJSON(#""attributes":[{"key":"k","value":"# + value + "}]")
        let error = #expect(throws: OTLPDecodeError.self) { try OTLPJSON.decode(.traces, json: Array(json.utf8)) }
        #expect(error?.code == .tooDeep)
        #expect(error?.message.hasSuffix("messages nested deeper than 100 levels") == true)
        // Unknown values are skipped with their own limit.
        let unknown = "{\"x\":" + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}"
        let skipError = #expect(throws: OTLPDecodeError.self) { try OTLPJSON.decode(.traces, json: Array(unknown.utf8)) }
        #expect(skipError?.message.hasSuffix("JSON nested too deeply") == true)
    }

    @Test func escapesAndUnicodeDecode() throws {
        let json = spanJSON(#""name":"\"\\\/\b\f\n\r\t\u0041\u00e9\u65e5\ud83d\ude00\ud800x é""#)
        let back = text(try OTLPJSON.encode(.traces, protobuf: OTLPJSON.decode(.traces, json: Array(json.utf8))))
        #expect(back.contains(#""name":"\"\\/\b\f\n\r\tAé日😀\#u{FFFD}x é""#))
    }
}
