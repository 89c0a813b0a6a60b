import CollectorTesting
import Foundation
import Testing

extension E2E {
    /// SIGHUP while an SDK client is sending: a valid changed config takes over without the
    /// client noticing, an invalid one is refused and the running config keeps going.
    @Suite("Reload")
    struct Reload {
        @Test("SIGHUP during a gRPC stream: valid reload applies, invalid ones are refused, nothing is lost")
        func reloadWhileSending() async throws {
            let ports = try Ports()
            var before = TestConfig(ports: ports)
            before.batch = ["timeout: 20ms"]
            let collector = try await before.start()

            // 40 traces = 160 spans, one export request per span over one gRPC channel.
            let client = try startSDK(protocol: "grpc", ports: ports, args: ["--count", "40", "--seed", "71"])
            try await waitUntil("the client is sending", timeout: .seconds(30)) {
                (try await counters(ports).acceptedSpans["grpc"] ?? 0) >= 20
            }

            // 1. A valid change on the same endpoints: debug verbosity and batch timeout.
            var after = before
            after.verbosity = "basic"
            after.batch = ["timeout: 10ms"]
            let mark = try collector.reload(config: after.yaml)
            try await collector.waitForOutput(containing: "configuration reloaded: 2 pipeline(s)", in: .stderr, since: mark)
            let atReload = try await counters(ports).acceptedSpans["grpc"] ?? 0
            #expect(atReload < 160, "the client finished before the reload; make it send longer")
            try await waitUntil("spans accepted after the reload", timeout: .seconds(30)) {
                (try await counters(ports).acceptedSpans["grpc"] ?? 0) >= min(atReload + 8, 160)
            }
            #expect(try await SimpleHTTP.get(port: ports.health, path: "/").status == 200)

            // 2. Broken YAML.
            let broken = try collector.reload(config: "receivers:\n  otlp: [\n    protocols: {\n")
            let brokenLog = try await collector.waitForOutput(
                containing: "reload failed, keeping the running configuration", in: .stderr, since: broken)
            #expect(brokenLog.contains("invalid YAML"), "\(brokenLog)")

            // 3. Valid YAML with an unknown key, named with its path and line.
            var unknown = after
            unknown.debugExtra = ["colour: blue"]
            let unknownKeyLine = unknown.yaml.split(separator: "\n", omittingEmptySubsequences: false)
                .firstIndex { $0.contains("colour: blue") }! + 1
            let bad = try collector.reload(config: unknown.yaml)
            let badLog = try await collector.waitForOutput(
                containing: "reload failed, keeping the running configuration", in: .stderr, since: bad)
            #expect(badLog.contains("exporters.debug.colour (line \(unknownKeyLine)): unknown key \"colour\""), "\(badLog)")
            #expect(collector.isRunning)
            #expect(try await SimpleHTTP.get(port: ports.health, path: "/").status == 200)

            // The client never noticed: no failure, no retry (the gRPC listener kept its socket).
            let result = try await client.result(timeout: .seconds(120))
            #expect(result.exitCode == 0, "\(result.stderr)")
            let report = try result.decode(ClientReport.self)
            #expect(report.ok && report.count == 160, "\(report.errors)")
            #expect(report.exports.count == 160 && report.exports.allSatisfy { $0.result == "SUCCESS" })
            #expect(report.sdkLog.isEmpty, "\(report.sdkLog)")

            // Every span it sent was exported once: counted in the summary lines (all
            // verbosities print them), and in the counters.
            let text = try await waitForPrinted(collector, "Traces", count: 160)
            #expect(DebugOutput.itemCount(in: text, signal: "Traces") == 160)
            let c = try await counters(ports)
            #expect(c.acceptedSpans["grpc"] == 160 && c.sentSpans == 160, "\(c)")
            #expect(c.refusedSpans["grpc"] == 0 && c.failedSpans == 0, "\(c)")

            // Spans printed before the reload (detailed) are exact; after it only summaries.
            let detailed = DebugOutput.entries(in: text).filter { $0.kind == .span }
            #expect(detailed.count >= 20 && detailed.count < 160, "\(detailed.count) spans printed in detail")
            let printedIds = Set(detailed.map(\.spanId))
            let expected = DebugMatch.expectedEntries(report).filter { exp in
                printedIds.contains { exp.lines.contains("      span_id: \($0)") }
            }
            #expect(expected.count == detailed.count)
            let problems = DebugMatch.mismatches(expected, in: detailed, exclusive: true)
            #expect(problems.isEmpty, "\(problems.prefix(5).joined(separator: "\n"))")

            // The failed reloads left the reloaded config running: a new span prints in basic.
            let quiet = collector.mark()
            #expect(try await rawGRPC(ports).code == "OK")
            try await waitForPrinted(collector, "Traces", count: 161)
            let tail = collector.text(.stdout, since: quiet)
            #expect(tail == "Traces: 1 resource spans, 1 scope spans, 1 spans\n", "\(tail)")
            await collector.stop()
        }

        @Test("SIGHUP moving the OTLP/HTTP listener to another port")
        func reloadNewEndpoint() async throws {
            let ports = try Ports()
            let config = TestConfig(ports: ports)
            let collector = try await config.start()
            let newPort = try FreePort.allocate()
            let moved = config.yaml.replacingOccurrences(of: "127.0.0.1:\(ports.http)", with: "127.0.0.1:\(newPort)")
            let mark = try collector.reload(config: moved)
            try await collector.waitForOutput(containing: "configuration reloaded", in: .stderr, since: mark)
            try await collector.waitForPort(newPort)
            try await waitUntil("the old HTTP port is closed") { !SimpleHTTP.canConnect(port: ports.http) }
            // gRPC (unchanged) and HTTP on its new port both accept.
            let grpc = try await rawGRPC(ports)
            #expect(grpc.code == "OK")
            let post = try await PythonClient.run(script: "send_json.py", args: ["--endpoint", "http://127.0.0.1:\(newPort)"])
            #expect(post.exitCode == 0, "\(post.stderr)")
            let text = try await waitForPrinted(collector, "Traces", count: 3)
            #expect(printedSpans(named: "json-root", in: text).count == 1)
            await collector.stop()
        }

        @Test("a reload that fails half-way restores the receivers it had already replaced")
        func failedReloadRestoresReceivers() async throws {
            let work = try TemporaryDirectory(prefix: "reload-restore")
            let logs = work.file("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            let file = logs.appendingPathComponent("app.log")
            try Data("line 1\n".utf8).write(to: file)
            let ports = try FreePort.allocate(count: 1)   // metrics
            func config(poll: String, extra: String = "", receivers: String = "[filelog]") -> String {
                """
                receivers:
                  filelog:
                    include: [\(logs.path)/*.log]
                    start_at: beginning
                    poll_interval: \(poll)
                    storage: \(work.file("state").path)
                \(extra)
                exporters:
                  nop:
                service:
                  telemetry:
                    metrics:
                      address: 127.0.0.1:\(ports[0])
                  pipelines:
                    logs:
                      receivers: \(receivers)
                      exporters: [nop]
                """
            }
            let collector = try CollectorProcess(config: config(poll: "50ms"), workDirectory: work.file("run"))
            try await collector.waitForOutput(containing: "collectord started", in: .stderr)
            func accepted() async throws -> Double {
                try await SimpleHTTP.metrics(port: ports[0]).sum("otelcol_receiver_accepted_log_records_total", labels: ["receiver": "filelog"])
            }
            try await waitUntil("the first line is read") { try await accepted() == 1 }

            // The new config replaces the filelog receiver (new poll interval), then fails to start
            // an OTLP receiver on a port that is taken (the collector's own metrics port): the
            // reload is refused, and the filelog receiver it had already shut down must be
            // running again.
            let failing = config(poll: "40ms", extra: """
                  otlp:
                    protocols:
                      http:
                        endpoint: 127.0.0.1:\(ports[0])
                """, receivers: "[filelog, otlp]")
            let mark = try collector.reload(config: failing)
            try await collector.waitForOutput(containing: "reload failed, keeping the running configuration", in: .stderr, since: mark)
            #expect(collector.text(.stderr, since: mark).contains("receiver filelog restored"), "\(collector.outputTail())")
            let handle = try FileHandle(forWritingTo: file)
            handle.seekToEndOfFile()
            handle.write(Data("line 2\nline 3\n".utf8))
            try handle.close()
            try await waitUntil("lines written after the failed reload are read") { try await accepted() == 3 }
            #expect(await collector.stop() == 0, "\(collector.outputTail())")
        }
    }
}
