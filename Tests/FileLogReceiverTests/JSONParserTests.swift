import CollectorCore
import Foundation
import Testing
@testable import FileLogReceiver

/// The OTel `json_parser` operator: the parser on its own, then tailing with it.
@Suite struct JSONParserTests {
    /// With `parse_ints: true` unless `configure` says otherwise (OTel's default is false:
    /// `defaultMakesNumbersDoubles` checks that).
    func parser(_ configure: (inout JSONParserSettings) -> Void = { _ in }, parseJSON: Bool = false) -> JSONParser {
        var s = JSONParserSettings()
        s.parseInts = true
        configure(&s)
        return JSONParser(settings: s, parseJSON: parseJSON, fileAttributeKeys: ["log.file.name"])
    }

    func entry(_ body: String, attributes: [(String, String)] = []) -> LogEntry {
        LogEntry(body: Array(body.utf8), attributes: attributes, endOffset: 1)
    }

    /// `[(key, value)]` of the typed attributes (or of the fast path's encoded ones, decoded),
    /// for exact comparisons.
    func typed(_ e: LogEntry) -> [String] {
        (e.encodedAttributes.isEmpty ? e.typedAttributes : Self.decode(e.encodedAttributes)).map { "\($0.0)=\($0.1)" }
    }

    /// LogRecord `attributes` fields (tag 6) back to `(key, value)`, by a small reader of their
    /// own (KeyValue{1 key, 2 AnyValue{1 string, 2 bool, 3 int, 4 double}}).
    static func decode(_ bytes: [UInt8]) -> [(String, AttributeValue)] {
        var i = 0
        func varint() -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while true {
                let b = bytes[i]
                i += 1
                v |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return v }
                shift += 7
            }
        }
        var out: [(String, AttributeValue)] = []
        while i < bytes.count {
            precondition(bytes[i] == 0x32)
            i += 1
            let end = Int(varint()) + i
            var key = "", value = AttributeValue.string("")
            while i < end {
                let tag = bytes[i]
                i += 1
                let length = Int(varint())
                if tag == 0x0a {
                    key = String(decoding: bytes[i..<(i + length)], as: UTF8.self)
                    i += length
                    continue
                }
                let valueEnd = i + length
                let kind = bytes[i]
                i += 1
                switch kind {
                case 0x0a:
                    let n = Int(varint())
                    value = .string(String(decoding: bytes[i..<(i + n)], as: UTF8.self))
                    i += n
                case 0x10: value = .bool(varint() != 0)
                case 0x18: value = .int(Int64(bitPattern: varint()))
                default:
                    value = .double(Double(bitPattern: bytes[i..<(i + 8)].reversed().reduce(0) { $0 << 8 | UInt64($1) }))
                    i += 8
                }
                precondition(i == valueEnd)
            }
            out.append((key, value))
        }
        return out
    }

    /// The whole encoded record of `e` (its attributes included), to compare the two paths.
    func encoded(_ e: LogEntry) -> [UInt8] {
        var encoder = LogsRequestEncoder(scratch: ScratchBuffer(capacity: 64), resourceAttributes: [],
                                         fileAttributes: [("log.file.name", "app.log")], observedUnixNano: 7)
        encoder.add(e)
        return encoder.take().payload
    }

    /// Bodies the fast path takes: the same attributes, in the same order, byte for byte, and
    /// the same record attributes left; with `parse_ints` on and off.
    @Test(arguments: [
        #"{"time":"2026-11-27T10:00:00.000001Z","level":"info","logger":"http.server","msg":"request completed","status":200,"duration_ms":12.5,"trace_id":"5b8efff798038103d269b633813fc60c"}"#,
        #"{}"#, #" { } "#, #"{"b":1,"a":2,"b":null}"#, #"{"a":null,"a":"x"}"#, #"{"k":"v","k":"w"}"#,
        #"{"i":-42,"z":0,"big":123456789012345678901,"e":1e3,"neg0":-0,"f":-0.125,"inf":1e999,"odd":1-2,"lead":007}"#,
        #"{"t":true,"f":false,"n":null,"s":"","u":"é日本語😀","ctl":"a"# + "\t" + #"b"}"#,
        #"{"log.file.name":"dropped","log.iostream":"replaces","other":"x"}"#,
        #"{"long":""# + String(repeating: "x", count: 300) + #"","k":1}"#,
        #"{ "spaced" : "yes" , "n" : 1 }"#,
    ])
    func fastPathGivesTheGeneralPathsBytes(body: String) {
        for parseInts in [true, false] {
            let p = parser { $0.parseInts = parseInts }
            var fast = entry(body, attributes: [("log.iostream", "stdout")])
            var general = fast
            var probe = fast.attributes
            #expect(p.encodeMembers(fast.body, recordAttributes: &probe) != nil, "\(body)")
            p.apply(&fast)
            p.applyGenerally(&general)
            #expect(fast.typedAttributes.isEmpty && general.encodedAttributes.isEmpty)
            #expect(typed(fast) == typed(general), "\(body)")
            #expect(fast.attributes.map(\.0) == general.attributes.map(\.0), "\(body)")
            #expect(encoded(fast) == encoded(general), "\(body)")
        }
    }

    /// Escapes, nested values, keys beyond printable ASCII, invalid UTF-8 and anything
    /// malformed go to the general path.
    @Test func fastPathLeavesTheRestToTheGeneralPath() {
        let bodies = [#"{"s":"a\"b"}"#, #"{"k\n":1}"#, #"{"o":{"a":1}}"#, #"{"a":[1]}"#, #"{"é":1}"#, #"{"a":1"#, #"{"a":1,}"#,
                      #"{"a" 1}"#, #"{"a":tru}"#, #"{"a":1} x"#, "[1]", "plain", "", #"{"a":}"#,
                      // Found by FuzzFileLog: only spaces and tabs may come before the object.
                      "\r" + #"{"time":"20.EEEEEE"}"#, "\n" + #"{"a":1}"#]
        var invalid = Array(#"{"a":"x"}"#.utf8)
        invalid[6] = 0xFF
        var attributes: [(String, String)] = []
        for body in bodies {
            #expect(parser().encodeMembers(Array(body.utf8), recordAttributes: &attributes) == nil, "\(body)")
        }
        #expect(parser().encodeMembers(invalid, recordAttributes: &attributes) == nil)
        // And through apply: not JSON, so no attributes.
        var e = entry("\r" + #"{"time":"20.EEEEEE"}"#)
        parser().apply(&e)
        #expect(typed(e).isEmpty)
    }

    @Test func fieldsBecomeTypedAttributesInKeyOrder() {
        let body = #"{"s":"a\"b\u00e9","i":-42,"f":2.5,"e":1e3,"huge":123456789012345678901,"t":true,"n":null,"#
            + #""o":{"z":[1,{"y":"\n"}],"a":null},"arr":[],"log.file.name":"x","log.iostream":"json"}"#
        var e = entry(body, attributes: [("log.iostream", "stdout")])
        parser().apply(&e)
        #expect(typed(e) == [
            #"arr=string("[]")"#, "e=double(1000.0)", "f=double(2.5)", "huge=double(1.2345678901234568e+20)", "i=int(-42)",
            #"log.iostream=string("json")"#, #"o=string("{\"a\":null,\"z\":[1,{\"y\":\"\\n\"}]}")"#, #"s=string("a\"bé")"#,
            "t=bool(true)",
        ])
        #expect(e.attributes.isEmpty, "log.iostream replaced by the JSON field")
        #expect(e.body == Array(body.utf8) && e.timeUnixNano == 0 && e.severityText == nil)

        var d = entry(#"{"i":3,"f":1.0}"#)
        parser { $0.parseInts = false }.apply(&d)
        #expect(typed(d) == ["f=double(1.0)", "i=double(3.0)"])
    }

    /// As in the OTel Collector, JSON numbers are doubles unless `parse_ints: true`.
    @Test func defaultMakesNumbersDoubles() {
        #expect(JSONParserSettings().parseInts == false)
        var e = entry(#"{"i":3,"big":12345678901}"#)
        JSONParser(settings: JSONParserSettings(), parseJSON: false, fileAttributeKeys: []).apply(&e)
        #expect(typed(e) == ["big=double(12345678901.0)", "i=double(3.0)"])
    }

    @Test func otherBodiesPassUnchanged() {
        for body in ["plain text", "[1,2]", "\"str\"", "42", "{\"unclosed\":1", "{} trailing", ""] {
            var e = entry(body, attributes: [("log.iostream", "stderr")])
            parser { $0.severity = ["level"] }.apply(&e)
            #expect(e.body == Array(body.utf8) && e.typedAttributes.isEmpty && e.encodedAttributes.isEmpty && e.attributes.count == 1
                    && e.severityText == nil, "\(body)")
        }
        var spaced = entry(" \t{\"k\":1}")
        parser().apply(&spaced)
        #expect(typed(spaced) == ["k=int(1)"])
    }

    @Test func timestampSeverityAndTraceFromFields() {
        let p = parser {
            $0.timestamp = JSONParserSettings.Timestamp(parseFrom: ["meta", "at"], layout: .rfc3339)
            $0.severity = ["lvl"]
            $0.traceID = ["trace_id"]
            $0.spanID = ["span_id"]
            $0.traceFlags = ["trace_flags"]
        }
        var e = entry(#"{"meta":{"at":"2024-01-02T05:04:05.5+02:00"},"lvl":"Warning","trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174","trace_flags":"01"}"#)
        e.timeUnixNano = 1   // from a container line: replaced
        p.apply(&e)
        #expect(e.timeUnixNano == 1_704_164_645_500_000_000)
        #expect(e.severityText == "Warning" && e.severityNumber == 13)
        #expect(e.traceID == Checkpoint.unhex("5b8efff798038103d269b633813fc60c") && e.spanID == Checkpoint.unhex("eee19b7ec3c1b174"))
        #expect(e.traceFlags == 1)

        // Numbers as levels (the OTel data model's 1...24), unparsable values leave the record alone.
        for (level, text, number) in [("21", "21", 21), (#""5""#, "5", 5), ("30", "30", 0), (#""verbose""#, "verbose", 0)] as [(String, String, UInt64)] {
            var f = entry(#"{"lvl":\#(level),"meta":{"at":"yesterday"},"trace_id":"00000000000000000000000000000000","span_id":"eee1","trace_flags":"0101"}"#)
            f.timeUnixNano = 9
            p.apply(&f)
            #expect(f.severityText == text && f.severityNumber == number && f.timeUnixNano == 9, "\(level)")
            #expect(f.traceID.isEmpty && f.spanID.isEmpty && f.traceFlags == 0)
        }
    }

    @Test func epochTimestamps() {
        let s: UInt64 = 1_000_000_000
        #expect(JSONParser.epoch("1704164645", nanosPerUnit: s) == 1_704_164_645_000_000_000)
        #expect(JSONParser.epoch("1704164645.123456789123", nanosPerUnit: s) == 1_704_164_645_123_456_789)
        #expect(JSONParser.epoch("1704164645123", nanosPerUnit: 1_000_000) == 1_704_164_645_123_000_000)
        #expect(JSONParser.epoch("1704164645123.5", nanosPerUnit: 1_000_000) == 1_704_164_645_123_500_000)
        #expect(JSONParser.epoch("1704164645123456", nanosPerUnit: 1000) == 1_704_164_645_123_456_000)
        #expect(JSONParser.epoch("1704164645123456789", nanosPerUnit: 1) == 1_704_164_645_123_456_789)
        #expect(JSONParser.epoch("1.5e9", nanosPerUnit: s) == 1_500_000_000_000_000_000)
        for bad in ["", "-1", "12x", "1.", ".5", "99999999999999999999", "1e30"] {
            #expect(JSONParser.epoch(bad, nanosPerUnit: s) == nil, "\(bad)")
        }
        let p = parser { $0.timestamp = JSONParserSettings.Timestamp(parseFrom: ["ts"], layout: .epoch(nanosPerUnit: 1_000_000)) }
        for body in [#"{"ts":1704164645123}"#, #"{"ts":"1704164645123"}"#] {
            var e = entry(body)
            p.apply(&e)
            #expect(e.timeUnixNano == 1_704_164_645_123_000_000, "\(body)")
        }
        var text = entry(#"{"ts":"2024-01-02T03:04:05Z"}"#)
        p.apply(&text)
        #expect(text.timeUnixNano == 0, "epoch layouts take numbers only")
    }

    /// With `parse_json` too, its well-known fields come from the same parse, and the
    /// operator's explicit fields win.
    @Test func combinedWithParseJSON() {
        let p = parser({ $0.severity = ["sev"] }, parseJSON: true)
        var e = entry(#"{"level":"info","sev":"error","trace_id":"5b8efff798038103d269b633813fc60c"}"#)
        p.apply(&e)
        #expect(e.severityText == "error" && e.severityNumber == 17 && e.traceID.count == 16)
        #expect(typed(e).count == 3)
    }

    // MARK: tailing

    /// Settings from an OTel-style YAML snippet, with the test harness's storage and timings.
    func settings(_ dir: TempDir, _ yaml: String) throws -> FileLogSettings {
        let node = try YAMLLoader.load(yaml, environment: [:])
        let sink = ProblemSink()
        let reader = ConfigReader(node, sink: sink)
        let parsed = FileLogFactory().parseSettings(reader) as! FileLogSettings
        reader.finish()
        #expect(sink.problems.isEmpty, "\(sink.problems)")
        var s = Harness.settings(dir, include: parsed.include)
        s.format = parsed.format
        s.kubernetesMetadata = parsed.kubernetesMetadata
        s.jsonParser = parsed.jsonParser
        return s
    }

    @Test func tailedJSONLinesBecomeTypedRecords() throws {
        let dir = TempDir()
        let file = dir.sub("app.log")
        let lines = [
            #"{"time":"2024-01-02T03:04:05.123+00:00","level":"warn","msg":"disk \"almost\" full","count":42,"neg":-7,"ratio":0.75,"#
                + #""big":1e3,"ok":true,"off":false,"none":null,"user":{"id":7,"tags":["a","b"]},"list":[1,"x",null],"#
                + #""trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174","flags":"01"}"#,
            "not json {",
            "[1,2,3]",
            #"{"time":"not a time","level":17,"msg":"numeric level"}"#,
            #"{"level":"ERROR","msg":"no time"}"#,
        ]
        Files.append(file, lines.joined(separator: "\n") + "\n")
        let s = try settings(dir, """
        include: [\(dir.sub("*.log"))]
        operators:
          - type: json_parser
            parse_ints: true
            parse_from: body
            parse_to: attributes
            timestamp:
              parse_from: attributes.time
              layout_type: gotime
              layout: '2006-01-02T15:04:05.000Z07:00'
            severity:
              parse_from: attributes.level
            trace:
              trace_id: {parse_from: attributes.trace_id}
              span_id: {parse_from: attributes.span_id}
              trace_flags: {parse_from: attributes.flags}
        """)
        let h = try Harness(s)
        defer { h.stop() }
        #expect(eventually { h.consumer.records.count >= 5 })
        Thread.sleep(forTimeInterval: 0.1)
        let files = ["log.file.name": "app.log", "log.file.path": file]

        var r0 = SeenRecord(body: lines[0], timeUnixNano: 1_704_164_645_123_000_000, attributes: files.merging([
            "time": "2024-01-02T03:04:05.123+00:00", "level": "warn", "msg": #"disk "almost" full"#,
            "user": #"{"id":7,"tags":["a","b"]}"#, "list": #"[1,"x",null]"#,
            "trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "eee19b7ec3c1b174", "flags": "01",
        ]) { a, _ in a }, resource: [:])
        r0.otherAttributes = ["count": .int(42), "neg": .int(-7), "ratio": .double(0.75), "big": .double(1000), "ok": .bool(true),
                              "off": .bool(false)]
        r0.severityText = "warn"
        r0.severityNumber = 13
        r0.traceID = "5b8efff798038103d269b633813fc60c"
        r0.spanID = "eee19b7ec3c1b174"
        r0.flags = 1
        var r3 = SeenRecord(body: lines[3], timeUnixNano: 0, attributes: files.merging(["time": "not a time", "msg": "numeric level"]) { a, _ in a },
                            resource: [:])
        r3.otherAttributes = ["level": .int(17)]
        r3.severityText = "17"
        r3.severityNumber = 17
        var r4 = SeenRecord(body: lines[4], timeUnixNano: 0, attributes: files.merging(["level": "ERROR", "msg": "no time"]) { a, _ in a },
                            resource: [:])
        r4.severityText = "ERROR"
        r4.severityNumber = 17
        let expected = [r0, SeenRecord(body: "not json {", timeUnixNano: 0, attributes: files, resource: [:]),
                        SeenRecord(body: "[1,2,3]", timeUnixNano: 0, attributes: files, resource: [:]), r3, r4]
        let records = h.consumer.records
        #expect(records.count == expected.count)
        for (got, want) in zip(records, expected) { #expect(got == want) }
    }

    /// `container` then `json_parser`: the JSON is the container message (here split over a
    /// CRI partial and its final line, and inside a docker json-file line).
    @Test func containerThenJSONParser() throws {
        let dir = TempDir()
        let podDir = dir.sub("var/log/pods/shop_cart-7d9f_0d1e2f3a-aaaa-bbbb/server")
        try FileManager.default.createDirectory(atPath: podDir, withIntermediateDirectories: true)
        Files.append(podDir + "/0.log", #"""
        2024-01-02T03:04:05.000000001Z stdout P {"msg":"split ","ts":1704164645.25,
        2024-01-02T03:04:05.000000002Z stdout F "log.level":"info","n":3}
        2024-01-02T03:04:06.000000000Z stderr F plain text from stderr
        {"log":"{\"msg\":\"from docker\",\"log.iostream\":\"json\"}\n","stream":"stdout","time":"2024-01-02T03:04:07Z"}

        """#)
        let s = try settings(dir, """
        include: [\(dir.sub("var/log/pods/*/*/*.log"))]
        operators:
          - type: container
            id: container-parser
          - type: json_parser
            parse_ints: true
            timestamp:
              parse_from: attributes.ts
              layout_type: epoch
              layout: s
            severity:
              parse_from: attributes["log.level"]
        """)
        #expect(s.format == .auto && s.kubernetesMetadata)
        let h = try Harness(s)
        defer { h.stop() }
        #expect(eventually { h.consumer.records.count >= 3 })
        Thread.sleep(forTimeInterval: 0.1)
        let files = ["log.file.name": "0.log", "log.file.path": podDir + "/0.log"]
        let resource = ["k8s.namespace.name": "shop", "k8s.pod.name": "cart-7d9f", "k8s.pod.uid": "0d1e2f3a-aaaa-bbbb",
                        "k8s.container.name": "server"]
        var split = SeenRecord(body: #"{"msg":"split ","ts":1704164645.25,"log.level":"info","n":3}"#, timeUnixNano: 1_704_164_645_250_000_000,
                               attributes: files.merging(["log.iostream": "stdout", "msg": "split ", "log.level": "info"]) { a, _ in a },
                               resource: resource)
        split.otherAttributes = ["ts": .double(1_704_164_645.25), "n": .int(3)]
        split.severityText = "info"
        split.severityNumber = 9
        let stderr = SeenRecord(body: "plain text from stderr", timeUnixNano: 1_704_164_646_000_000_000,
                                attributes: files.merging(["log.iostream": "stderr"]) { a, _ in a }, resource: resource)
        let docker = SeenRecord(body: #"{"msg":"from docker","log.iostream":"json"}"#, timeUnixNano: 1_704_164_647_000_000_000,
                                attributes: files.merging(["log.iostream": "json", "msg": "from docker"]) { a, _ in a }, resource: resource)
        let records = h.consumer.records
        #expect(records.count == 3)
        for (got, want) in zip(records, [split, stderr, docker]) { #expect(got == want) }
    }
}
