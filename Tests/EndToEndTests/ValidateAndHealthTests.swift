import CollectorTesting
import Foundation
import Testing

extension E2E {
    /// `collectord validate` and the `health_check` extension.
    @Suite("Validate and health")
    struct ValidateAndHealth {
        @Test("validate: a valid config exits 0")
        func validConfig() async throws {
            let result = try await CollectorProcess.validate(config: TestConfig(ports: try Ports()).yaml)
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(result.stdout.hasSuffix("config.yaml: configuration is valid\n"), "\(result.stdout)")
            #expect(result.stderr.isEmpty)

            // The shipped default config too.
            let shipped = try String(contentsOf: RepoPaths.root.appendingPathComponent("config/collector.yaml"), encoding: .utf8)
            let def = try await CollectorProcess.validate(config: shipped)
            #expect(def.exitCode == 0, "\(def.stderr)")

            // And the config the Kubernetes DaemonSet ships in its ConfigMap (indented by 4 under
            // `collector.yaml: |`), with the pod's LOKI_ENDPOINT.
            let manifest = try String(contentsOf: RepoPaths.root.appendingPathComponent("deploy/kubernetes/daemonset.yaml"), encoding: .utf8)
            let block = try #require(manifest.components(separatedBy: "collector.yaml: |\n").last?.components(separatedBy: "\n---").first)
            let embedded = block.split(separator: "\n", omittingEmptySubsequences: false).map { $0.dropFirst(4) }.joined(separator: "\n")
                .replacingOccurrences(of: "${env:LOKI_ENDPOINT}", with: "http://loki.observability:3100/loki/api/v1/push")
            #expect(embedded.contains("filelog:") && embedded.contains("type: container"))
            let daemonset = try await CollectorProcess.validate(config: embedded)
            #expect(daemonset.exitCode == 0, "\(daemonset.stderr)\n\(embedded)")
        }

        @Test("validate: an unset ${env:...} is valid but warned about, with its YAML path and line")
        func unsetVariableWarned() async throws {
            let yaml = TestConfig(ports: try Ports()).yaml
                .replacingOccurrences(of: "verbosity: detailed", with: "verbosity: ${env:COLLECTORD_TEST_SURELY_UNSET}detailed")
            let result = try await CollectorProcess.validate(config: yaml)
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(result.stderr.contains("warning: exporters.debug.verbosity (line "), "\(result.stderr)")
            #expect(result.stderr.contains("${env:COLLECTORD_TEST_SURELY_UNSET} is not set; it expands to an empty value"), "\(result.stderr)")
        }

        @Test("validate: every problem is reported at once, with its YAML path and line")
        func invalidConfig() async throws {
            let config = """
                receivers:
                  otlp:
                    protocols:
                      grpc:
                        endpoint: 127.0.0.1:4317
                        max_recv_msg_size_mb: 8
                processors:
                  batch:
                    timeout: soon
                exporters:
                  debug:
                    verbosity: loud
                service:
                  pipelines:
                    traces:
                      receivers: [otlp, zipkin]
                      processors: [batch]
                      exporters: [debug]

                """
            let result = try await CollectorProcess.validate(config: config)
            #expect(result.exitCode == 1)
            #expect(result.stdout.isEmpty)
            let lines = result.stderr.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("invalid configuration ") == true && lines.first?.hasSuffix("(4 errors):") == true,
                    "\(result.stderr)")
            for expected in [
                "  - receivers.otlp.protocols.grpc.max_recv_msg_size_mb (line 6): unknown key \"max_recv_msg_size_mb\"",
                "  - processors.batch.timeout (line 9): expected a duration such as 200ms, 5s or 1m, found \"soon\"",
                "  - exporters.debug.verbosity (line 12): \"loud\" is not one of basic, normal, detailed",
                "  - service.pipelines.traces.receivers[1] (line 16): references receiver \"zipkin\" which is not configured in receivers or connectors",
            ] {
                #expect(lines.contains(expected), "missing: \(expected)\nstderr:\n\(result.stderr)")
            }
            #expect(lines.count == 5, "\(result.stderr)")
        }

        @Test("validate: broken YAML names the line")
        func brokenYAML() async throws {
            let result = try await CollectorProcess.validate(config: "receivers:\n  otlp: [\n    a: b\n")
            #expect(result.exitCode == 1)
            #expect(result.stderr.contains("invalid YAML"), "\(result.stderr)")
            #expect(result.stderr.contains("(line "), "\(result.stderr)")
        }

        @Test("health_check: 200 with the OTel Collector's JSON while running, 404 elsewhere")
        func health() async throws {
            let ports = try Ports()
            let collector = try await TestConfig(ports: ports).start()
            let ok = try await SimpleHTTP.get(port: ports.health, path: "/")
            #expect(ok.status == 200)
            #expect(ok.header("content-type") == "application/json")
            let body = try #require(try JSONSerialization.jsonObject(with: ok.body) as? [String: Any])
            #expect(body["status"] as? String == "Server available", "\(ok.text)")
            #expect(body["upSince"] is String && body["uptime"] is String, "\(ok.text)")
            #expect(try await SimpleHTTP.get(port: ports.health, path: "/nope").status == 404)
            await collector.stop()
        }
    }
}
