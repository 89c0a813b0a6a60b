import CollectorCore
import Testing
@testable import FileLogReceiver

@Suite struct FileLogConfigTests {
    func parse(_ yaml: String) throws -> (FileLogSettings, [ConfigProblem]) {
        let node = try YAMLLoader.load(yaml, environment: [:])
        let sink = ProblemSink()
        let reader = ConfigReader(node, sink: sink)
        let settings = FileLogFactory().parseSettings(reader) as! FileLogSettings
        reader.finish()
        return (settings, sink.problems)
    }

    @Test func defaultsAndKeys() throws {
        let (s, problems) = try parse("""
        include: [/var/log/pods/*/*/*.log]
        exclude: ["*/kube-system_*"]
        start_at: beginning
        poll_interval: 50ms
        max_log_size: 4096
        format: cri
        storage: /var/lib/collectord/filelog
        include_file_path: true
        """)
        #expect(problems.isEmpty, "\(problems)")
        #expect(s.include == ["/var/log/pods/*/*/*.log"])
        #expect(s.exclude == ["*/kube-system_*"])
        #expect(s.startAt == .beginning)
        #expect(s.pollInterval == 50_000_000)
        #expect(s.maxLogSize == 4096)
        #expect(s.format == .cri)
        #expect(s.storage == "/var/lib/collectord/filelog")
        #expect(s.includeFileName && s.includeFilePath)
        let (d, _) = try parse("include: [a.log]")
        #expect(d.startAt == .end && d.pollInterval == 200_000_000 && d.maxLogSize == 1 << 20 && d.format == .none)
    }

    @Test func problemsAreReportedTogether() throws {
        let (_, problems) = try parse("""
        start_at: middle
        multiline:
          line_start_pattern: "(unclosed"
        bogus: 1
        """)
        let text = problems.map(\.description).joined(separator: "\n")
        #expect(problems.count == 4, "\(text)")
        #expect(text.contains("include"))
        #expect(text.contains("start_at"))
        #expect(text.contains("line_start_pattern"))
        #expect(text.contains("bogus"))
    }

    @Test func multilineEndPatternAndExclusivity() throws {
        let (s, problems) = try parse("include: [a.log]\nmultiline:\n  line_end_pattern: ';$'\n")
        #expect(problems.isEmpty && s.lineEndPattern == ";$" && s.lineStartPattern == nil)
        let (_, both) = try parse("include: [a.log]\nmultiline:\n  line_start_pattern: '^x'\n  line_end_pattern: ';$'\n")
        #expect(both.count == 1 && both[0].description.contains("only one of"), "\(both)")
    }

    /// The OTel Collector's usual Kubernetes config: the `container` operator.
    @Test func otelContainerOperator() throws {
        let (s, problems) = try parse("""
        include: [/var/log/pods/*/*/*.log]
        include_file_path: true
        operators:
          - type: container
            id: container-parser
            add_metadata_from_filepath: false
        """)
        #expect(problems.isEmpty, "\(problems)")
        #expect(s.format == .auto && !s.kubernetesMetadata)
        for (format, expected) in [("docker", FileLogSettings.Format.docker), ("crio", .cri), ("containerd", .cri)] {
            let (t, p) = try parse("include: [a.log]\noperators:\n  - type: container\n    format: \(format)\n")
            #expect(p.isEmpty && t.format == expected && t.kubernetesMetadata)
        }
    }

    @Test func unsupportedOperatorsAreErrorsWithTheirLine() throws {
        let (_, problems) = try parse("""
        include: [a.log]
        operators:
          - type: container
            colour: blue
          - type: regex_parser
            regex: "^(?P<x>.*)$"
          - id: nameless
        """)
        let text = problems.map(\.description)
        #expect(problems.count == 4, "\(text)")
        #expect(text.contains { $0.contains("colour") && $0.contains("unknown key") })
        #expect(text.contains { $0.contains("line 5") && $0.contains("unsupported operator type \"regex_parser\"") })
        #expect(text.contains { $0.contains("regex") && $0.contains("unknown key") })
        #expect(text.contains { $0.contains("every operator needs a type") })
    }

    /// The OTel Collector's `json_parser` operator, as OTel configs write it.
    @Test func otelJSONParserOperator() throws {
        let (s, problems) = try parse("""
        include: [/var/log/app/*.log]
        operators:
          - type: json_parser
            id: json
            parse_from: body
            parse_to: attributes
            on_error: send
            timestamp:
              parse_from: attributes.time
              layout_type: gotime
              layout: '2006-01-02T15:04:05.000Z07:00'
            severity:
              parse_from: attributes.level
        """)
        #expect(problems.isEmpty, "\(problems)")
        var expected = JSONParserSettings()
        expected.timestamp = JSONParserSettings.Timestamp(parseFrom: ["time"], layout: .rfc3339)
        expected.severity = ["level"]
        #expect(s.jsonParser == expected)
        #expect(s.format == .none && !s.parseJSON)

        // Container first, epoch time, bracketed and nested fields, trace context with its defaults.
        let (t, p) = try parse("""
        include: [a.log]
        operators:
          - type: container
          - type: json_parser
            parse_ints: false
            timestamp:
              parse_from: attributes["log.ts"]
              layout_type: epoch
              layout: ms
            severity:
              parse_from: attributes.log.level
            trace:
              trace_id:
                parse_from: attributes.tid
              span_id:
              trace_flags:
                parse_from: attributes['ctx']["flags"]
        """)
        #expect(p.isEmpty, "\(p)")
        var e = JSONParserSettings()
        e.parseInts = false
        e.timestamp = JSONParserSettings.Timestamp(parseFrom: ["log.ts"], layout: .epoch(nanosPerUnit: 1_000_000))
        e.severity = ["log", "level"]
        e.traceID = ["tid"]
        e.spanID = ["span_id"]
        e.traceFlags = ["ctx", "flags"]
        #expect(t.jsonParser == e && t.format == .auto)

        let (u, q) = try parse("include: [a.log]\noperators:\n  - type: json_parser\n    trace:\n")
        #expect(q.isEmpty, "\(q)")
        #expect(u.jsonParser?.traceID == ["trace_id"] && u.jsonParser?.spanID == ["span_id"] && u.jsonParser?.traceFlags == ["trace_flags"])
        #expect(u.jsonParser?.timestamp == nil && u.jsonParser?.severity == nil)
        for (layout, unit) in [("s", 1_000_000_000), ("us", 1000), ("ns", 1), ("s.ns", 1_000_000_000)] as [(String, UInt64)] {
            let (v, r) = try parse("""
            include: [a.log]
            operators:
              - type: json_parser
                timestamp: {parse_from: attributes.t, layout_type: epoch, layout: "\(layout)"}
            """)
            #expect(r.isEmpty && v.jsonParser?.timestamp?.layout == .epoch(nanosPerUnit: unit), "\(layout): \(r)")
        }
    }

    @Test func jsonParserProblems() throws {
        let (_, problems) = try parse("""
        include: [a.log]
        operators:
          - type: json_parser
            parse_from: body.message
            parse_to: body
            on_error: drop
            timestamp:
              layout_type: epoch
              layout: minutes
            severity:
              parse_from: resource.level
              mapping: {error: oops}
          - type: json_parser
          - type: container
        """)
        let text = problems.map(\.description)
        #expect(problems.count == 9, "\(text)")
        #expect(text.contains { $0.contains("line 4") && $0.contains("\"body.message\" is not one of body") })
        #expect(text.contains { $0.contains("line 5") && $0.contains("\"body\" is not one of attributes") })
        #expect(text.contains { $0.contains("line 6") && $0.contains("\"drop\" is not one of send, send_quiet") })
        #expect(text.contains { $0.contains("parse_from is required") })
        #expect(text.contains { $0.contains("line 9") && $0.contains("the epoch layout must be one of s, ms, us, ns") })
        #expect(text.contains { $0.contains("line 11") && $0.contains("expected a field attributes.<name>") && $0.contains("resource.level") })
        #expect(text.contains { $0.contains("line 12") && $0.contains("mapping") && $0.contains("unknown key") })
        #expect(text.contains { $0.contains("line 13") && $0.contains("only one json_parser operator is supported") })
        #expect(text.contains { $0.contains("line 14") && $0.contains("the container operator must come before json_parser") })
    }

    @Test func fieldPaths() {
        #expect(JSONParserSettings.fieldPath("attributes.time") == ["time"])
        #expect(JSONParserSettings.fieldPath("attributes.a.b") == ["a", "b"])
        #expect(JSONParserSettings.fieldPath(#"attributes["a.b"]"#) == ["a.b"])
        #expect(JSONParserSettings.fieldPath(#"attributes['a']["b.c"].d"#) == ["a", "b.c", "d"])
        for bad in ["attributes", "body.time", "attributes.", "attributes..a", #"attributes["a"#, #"attributes["a"x"#, "attributesx", "time"] {
            #expect(JSONParserSettings.fieldPath(bad) == nil, "\(bad)")
        }
    }
}
