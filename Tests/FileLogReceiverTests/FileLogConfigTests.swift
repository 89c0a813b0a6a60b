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
}
