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
            profiles:
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
                "service.pipelines.traces.exporters[1] (line 17): references exporter \"nope\" which is not configured in exporters or connectors",
                "service.pipelines.logs.exporters (line 20): exporter \"tracesonly\" does not support logs",
                "service.pipelines.profiles (line 22): unknown pipeline type \"profiles\"; expected traces, metrics or logs",
                "service.unknown_section (line 24): unknown key \"unknown_section\"",
            ])
            #expect(error.description.hasPrefix("invalid configuration bad.yaml (9 errors):\n  - receivers.otlp.endpont (line 3)"))
        }
    }

    /// A connector joining pipelines: `forward` (same signal) and `counter` (traces to metrics).
    struct FakeConnectorFactory: ConnectorFactory {
        var type: String
        var kind: ComponentKind { .connector }
        var signals: Set<Signal> { Set(Signal.allCases) }
        func supports(from: Signal, to: Signal) -> Bool { type == "forward" ? from == to : (from == .traces && to == .metrics) }
        func parseSettings(_ reader: ConfigReader) -> any ComponentSettings { FakeSettings() }
        func makeConnector(_ settings: any ComponentSettings, from: Signal, to: Signal, context: ComponentContext,
                           next: any Consumer) throws -> any Exporter {
            throw ComponentError.permanent("not built in parser tests")
        }
    }

    var connectorParser: ConfigParser {
        ConfigParser(factories: [
            FakeFactory(type: "otlp", kind: .receiver, signals: Set(Signal.allCases)),
            FakeFactory(type: "debug", kind: .exporter, signals: Set(Signal.allCases)),
            FakeConnectorFactory(type: "forward"), FakeConnectorFactory(type: "counter"),
        ])
    }

    private func connectorConfig(_ pipelines: String, connectors: String = "  forward:\n  counter:\n") -> String {
        "receivers:\n  otlp:\nexporters:\n  debug:\nconnectors:\n" + connectors + "service:\n  pipelines:\n" + pipelines
    }

    @Test func connectorsJoinPipelines() throws {
        let config = try connectorParser.parse(yaml: connectorConfig("""
                traces/in:
                  receivers: [otlp]
                  exporters: [forward, counter]
                traces/out:
                  receivers: [forward]
                  exporters: [debug]
                metrics:
                  receivers: [otlp, counter]
                  exporters: [debug]
                logs:
                  receivers: [otlp]
                  exporters: [forward]
                logs/out:
                  receivers: [forward]
                  exporters: [debug]

            """), file: "c.yaml", environment: [:])
        let forward = ComponentID(type: "forward"), counter = ComponentID(type: "counter")
        #expect(config.connections == [
            PipelineConnection(connector: forward, from: .traces, to: .traces, upstream: [0], downstream: [1]),
            PipelineConnection(connector: forward, from: .logs, to: .logs, upstream: [3], downstream: [4]),
            PipelineConnection(connector: counter, from: .traces, to: .metrics, upstream: [0], downstream: [2]),
        ])
        #expect(config.isConnector(forward) && !config.isConnector(ComponentID(type: "otlp")))
        #expect(config.receiverIDs == [ComponentID(type: "otlp")])
        // Consumers first: each pipeline after those it feeds.
        let order = config.consumersFirst
        #expect(Set(order) == Set(0..<5))
        for c in config.connections {
            for u in c.upstream {
                for d in c.downstream { #expect(order.firstIndex(of: d)! < order.firstIndex(of: u)!) }
            }
        }
    }

    @Test func connectorProblems() {
        func problems(_ pipelines: String, connectors: String = "  forward:\n  counter:\n") -> [String] {
            do {
                _ = try connectorParser.parse(yaml: connectorConfig(pipelines, connectors: connectors), file: "c.yaml", environment: [:])
                return []
            } catch {
                return error.problems.map(\.message)
            }
        }
        // Exported to, but nothing receives from it in a signal it can give.
        #expect(problems("""
                traces:
                  receivers: [otlp]
                  exporters: [forward]
                logs:
                  receivers: [forward]
                  exporters: [debug]

            """) == [
            "connector \"forward\" used as exporter in traces pipeline traces but not used in any supported receiver pipeline",
            "connector \"forward\" used as receiver in logs pipeline logs but not used in any supported exporter pipeline",
        ])
        // A cycle through two pipelines, named in order.
        #expect(problems("""
                traces/a:
                  receivers: [otlp, forward/2]
                  exporters: [forward]
                traces/b:
                  receivers: [forward]
                  exporters: [forward/2, debug]

            """, connectors: "  forward:\n  forward/2:\n") == [
            "connectors form a cycle: traces/a -> connector forward -> traces/b -> connector forward/2 -> traces/a",
        ])
        // A pipeline feeding itself.
        #expect(problems("""
                traces:
                  receivers: [otlp, forward]
                  exporters: [forward, debug]

            """) == ["connectors form a cycle: traces -> connector forward -> traces"])
        // An id that is both a receiver and a connector; one that is neither.
        #expect(problems("""
                traces:
                  receivers: [otlp, nothing]
                  exporters: [debug]

            """) == ["references receiver \"nothing\" which is not configured in receivers or connectors"])
        #expect(problems("""
                traces:
                  receivers: [otlp]
                  exporters: [debug]

            """, connectors: "  otlp:\n").contains { $0.contains("unknown connector type") })
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
