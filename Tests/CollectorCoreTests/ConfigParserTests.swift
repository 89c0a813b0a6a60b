@testable import CollectorCore
import Testing

struct FakeSettings: ComponentSettings, Equatable {
    var endpoint = "0.0.0.0:4317"
    var size = 8192
    var timeout: UInt64 = 200_000_000
}

struct FakeFactory: ComponentFactory {
    var type: String
    var kind: ComponentKind
    var signals: Set<Signal> = [.traces, .logs]

    func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = FakeSettings()
        s.endpoint = reader.string("endpoint", default: s.endpoint)
        s.size = reader.int("size", default: s.size, range: 0...100_000)
        s.timeout = reader.duration("timeout", default: s.timeout)
        return s
    }
}

@Suite struct ConfigParserTests {
    let parser = ConfigParser(factories: [
        FakeFactory(type: "otlp", kind: .receiver),
        FakeFactory(type: "batch", kind: .processor),
        FakeFactory(type: "debug", kind: .exporter),
        FakeFactory(type: "tracesonly", kind: .exporter, signals: [.traces]),
        FakeFactory(type: "health_check", kind: .extension, signals: []),
    ])

    @Test func parsesAValidConfigWithEnvExpansion() throws {
        let yaml = """
        receivers:
          otlp:
            endpoint: ${env:HOST}:${PORT}
          otlp/2:
        processors:
          batch:
            timeout: 1s
            size: 10
        exporters:
          debug:
        extensions:
          health_check:
        service:
          extensions: [health_check]
          telemetry:
            metrics:
              address: 127.0.0.1:9999
          pipelines:
            traces:
              receivers: [otlp, otlp/2]
              processors: [batch]
              exporters: [debug]
            logs/custom:
              receivers: [otlp]
              exporters: [debug]
        """
        let config = try parser.parse(yaml: yaml, file: "c.yaml", environment: ["HOST": "10.0.0.1", "PORT": "1234"])
        let otlp = config.component(.receiver, ComponentID(type: "otlp"))?.settings as? FakeSettings
        #expect(otlp?.endpoint == "10.0.0.1:1234")
        let second = config.component(.receiver, ComponentID(type: "otlp", name: "2"))?.settings as? FakeSettings
        #expect(second == FakeSettings())
        let batch = config.component(.processor, ComponentID(type: "batch"))?.settings as? FakeSettings
        #expect(batch?.timeout == 1_000_000_000)
        #expect(batch?.size == 10)
        #expect(config.metricsAddress == "127.0.0.1:9999")
        #expect(config.pipelines.map(\.name) == ["traces", "logs/custom"])
        #expect(config.pipelines.map(\.signal) == [.traces, .logs])
        #expect(config.pipelines[0].receivers.map(\.description) == ["otlp", "otlp/2"])
        #expect(config.serviceExtensions == [ComponentID(type: "health_check")])
        #expect(config.warnings.isEmpty)

        // An unset variable expands to "" as upstream, and is warned about with its place.
        let partly = try parser.parse(yaml: yaml, file: "c.yaml", environment: ["HOST": "10.0.0.1"])
        #expect((partly.component(.receiver, ComponentID(type: "otlp"))?.settings as? FakeSettings)?.endpoint == "10.0.0.1:")
        #expect(partly.warnings == [ConfigProblem(path: "receivers.otlp.endpoint", line: 3,
                                                  message: "${env:PORT} is not set; it expands to an empty value")])
    }

    @Test func serviceLimits() throws {
        func parse(_ limits: String) throws(ConfigError) -> ServiceLimits {
            try parser.parse(yaml: """
                receivers:
                  otlp:
                exporters:
                  debug:
                service:
                \(limits)
                  pipelines:
                    traces:
                      receivers: [otlp]
                      exporters: [debug]
                """, file: "l.yaml", environment: [:]).limits
        }
        let defaults = try parse("")
        #expect(defaults.maxConnections == nil)
        #expect(defaults.requestMemoryLimitMiB == 128)
        #expect(defaults.pipelineQueueSize == 4096)
        let set = try parse("  limits:\n    max_connections: 500\n    request_memory_limit_mib: 64\n    pipeline_queue_size: 64")
        #expect(set.maxConnections == 500)
        #expect(set.requestMemoryLimitMiB == 64)
        #expect(set.pipelineQueueSize == 64)
        #expect(throws: ConfigError.self) { try parse("  limits:\n    pipeline_queue_size: 1") }
    }

    @Test func reportsEveryProblemWithPathAndLine() {
        let yaml = """
        receivers:
          otlp:
            endpont: 1.2.3.4:5
          kafka:
        processors:
          batch:
            timeout: soon
            size: -1
        exporters:
          debug:
          tracesonly:
        service:
          pipelines:
            traces:
              receivers: [otlp]
              processors: [batch, memory_limiter]
              exporters: [debug, nope]
            logs:
              receivers: [otlp]
              exporters: [tracesonly]
            metrics:
              receivers: [otlp]
              exporters: [debug]
          unknown_section: 1
        """
        do {
            _ = try parser.parse(yaml: yaml, file: "bad.yaml", environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error.problems.map(\.description) == [
                "receivers.otlp.endpont (line 3): unknown key \"endpont\"",
                "receivers.kafka (line 4): unknown receiver type \"kafka\" (known: otlp)",
                "processors.batch.timeout (line 7): expected a duration such as 200ms, 5s or 1m, found \"soon\"",
                "processors.batch.size (line 8): -1 is out of range 0...100000",
                "service.pipelines.traces.processors[1] (line 16): references processor \"memory_limiter\" which is not configured in processors",
                "service.pipelines.traces.exporters[1] (line 17): references exporter \"nope\" which is not configured in exporters",
                "service.pipelines.logs.exporters (line 20): exporter \"tracesonly\" does not support logs",
                "service.pipelines.metrics (line 22): unknown pipeline type \"metrics\"; expected traces or logs (metrics pipelines are not supported yet)",
                "service.unknown_section (line 24): unknown key \"unknown_section\"",
            ])
            #expect(error.description.hasPrefix("invalid configuration bad.yaml (9 errors):\n  - receivers.otlp.endpont (line 3)"))
        }
    }

    /// A "billion laughs" document: refused from libyaml's events before anything is expanded
    /// (composing it, as before, took gigabytes), each alias named with its line.
    @Test func aliasBombIsRefusedBeforeExpansion() {
        var yaml = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for i in 1...9 {
            yaml += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        do {
            _ = try YAMLLoader.load(yaml, environment: [:])
            Issue.record("accepted an alias bomb")
        } catch {
            #expect(error.problems.count == 20)
            #expect(error.problems.first == ConfigProblem(path: "", line: 2, message: "YAML aliases are not supported"))
        }
        #expect(YAMLLoader.aliasLines("k: '*not an alias'\nl: [/var/log/*.log]\nm: \"*\"\n") == [])
    }

    /// Duplicate keys are found in one pass: 80,000 keys (14.5 s when each was compared with
    /// all before it) with one repeated at the end, reported by name and the line of its first
    /// occurrence (not with the whole document quoted, as Yams worded it).
    @Test func duplicateKeysInALargeMapping() {
        let yaml = (0..<80_000).map { "k\($0): \($0)" }.joined(separator: "\n") + "\nk17: again\n"
        do {
            _ = try YAMLLoader.load(yaml, environment: [:])
            Issue.record("accepted a duplicate key")
        } catch {
            #expect(error.problems == [ConfigProblem(path: "", line: 18, message: "duplicate key \"k17\"")])
        }
    }

    @Test func brokenYAMLNamesTheLine() {
        let yaml = "receivers:\n  otlp:\n    endpoint: [unclosed\nservice: {}\n"
        do {
            _ = try parser.parse(yaml: yaml, file: "broken.yaml", environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error.problems.count == 1)
            #expect(error.problems[0].message.hasPrefix("invalid YAML:"))
            #expect(error.problems[0].line >= 3)
        }
    }

    @Test func missingPipelinesIsAnError() {
        #expect(throws: ConfigError.self) {
            try parser.parse(yaml: "receivers:\n  otlp:\n", file: "x", environment: [:])
        }
    }

    @Test func durations() {
        #expect(DurationParser.nanoseconds("200ms") == 200_000_000)
        #expect(DurationParser.nanoseconds("1m30s") == 90_000_000_000)
        #expect(DurationParser.nanoseconds("1.5s") == 1_500_000_000)
        #expect(DurationParser.nanoseconds("0") == 0)
        #expect(DurationParser.nanoseconds("10") == nil)
        #expect(DurationParser.nanoseconds("") == nil)
    }
}
