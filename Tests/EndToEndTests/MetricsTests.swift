import CollectorTesting
import Foundation
import Testing

extension E2E {
    /// `/metrics` after known traffic: the OTel Collector's counters hold exactly what was sent,
    /// and the exposition passes `promtool check metrics`.
    @Suite("Self-metrics")
    struct Metrics {
        @Test("counters equal what was sent per transport; promtool accepts the scrape")
        func countersAndPromtool() async throws {
            let ports = try Ports()
            var config = TestConfig(ports: ports)
            config.verbosity = "normal"
            config.queueSize = 100  // rounded up to a power of two
            let collector = try await config.start()

            // Before any traffic every counter is there, at zero.
            let empty = Counters(try await scrape(ports))
            #expect(empty.acceptedSpans == ["grpc": 0, "http": 0] && empty.acceptedLogs == ["grpc": 0, "http": 0])
            #expect(empty.refusedSpans == ["grpc": 0, "http": 0] && empty.refusedLogs == ["grpc": 0, "http": 0])

            // Spans: 8 over gRPC, 4 + 2 over HTTP. Logs: 4 over gRPC, 8 + 2 over HTTP.
            _ = try await runSDK(protocol: "grpc", ports: ports, args: ["--count", "2", "--seed", "91"])
            _ = try await runSDK(protocol: "http", ports: ports, args: ["--batches", "--seed", "92"])
            _ = try await runSDK("logs", protocol: "grpc", ports: ports, args: ["--seed", "93"])
            _ = try await runSDK("logs", protocol: "http", ports: ports, args: ["--count", "2", "--seed", "94"])
            #expect(try await sendJSON(ports, ["--signal", "traces"]).exitCode == 0)
            #expect(try await sendJSON(ports, ["--signal", "logs"]).exitCode == 0)
            // A refused-before-ingest request counts nowhere.
            #expect(try await rawGRPC(ports, ["--payload", "malformed"]).code == "INVALID_ARGUMENT")

            try await waitForPrinted(collector, "Traces", count: 14)
            try await waitForPrinted(collector, "Logs", count: 14)
            let m = try await scrape(ports)
            let c = Counters(m)
            #expect(c.acceptedSpans == ["grpc": 8, "http": 6], "\(c)")
            #expect(c.acceptedLogs == ["grpc": 4, "http": 10], "\(c)")
            #expect(c.refusedSpans == ["grpc": 0, "http": 0] && c.refusedLogs == ["grpc": 0, "http": 0], "\(c)")
            #expect(c.sentSpans == 14 && c.sentLogs == 14, "\(c)")
            #expect(c.failedSpans == 0 && c.failedLogs == 0, "\(c)")
            // The `normal` verbosity printed one line per item.
            let all = collector.stdoutText
            #expect(all.split(separator: "\n").filter { $0.hasPrefix("span service=") }.count == 14)
            #expect(all.split(separator: "\n").filter { $0.hasPrefix("log service=") }.count == 14)

            // Batch sizes: one observation per exported batch, which is one summary line each.
            let batches = DebugOutput.summaries(in: all).count
            let size = ["processor": "batch"]
            #expect(m.value("otelcol_processor_batch_batch_send_size_sum", labels: size) == 28)
            #expect(m.value("otelcol_processor_batch_batch_send_size_count", labels: size) == Double(batches))
            #expect(batches >= 6 && batches <= 28, "\(batches) batches")
            #expect(m.value("otelcol_processor_batch_batch_send_size_bucket", labels: size.merging(["le": "+Inf"]) { a, _ in a })
                == m.value("otelcol_processor_batch_batch_send_size_count", labels: size))
            #expect(m.types["otelcol_processor_batch_batch_send_size"] == "histogram")

            // Queues and rings: empty, with their capacities.
            for signal in ["traces", "logs"] {
                let q = ["exporter": "debug", "data_type": signal]
                #expect(m.value("otelcol_exporter_queue_size", labels: q) == 0)
                #expect(m.value("otelcol_exporter_queue_capacity", labels: q) == 128)
                #expect(m.value("collectord_pipeline_ring_size", labels: ["pipeline": signal]) == 0)
                #expect(m.value("collectord_pipeline_ring_capacity", labels: ["pipeline": signal]) == 4096)
            }
            #expect((m.value("otelcol_process_memory_rss_bytes") ?? 0) > 1_000_000)
            #expect((m.value("otelcol_process_cpu_seconds_total") ?? 0) > 0)
            for name in ["otelcol_receiver_accepted_spans_total", "otelcol_receiver_refused_log_records_total",
                         "otelcol_exporter_sent_spans_total", "otelcol_process_cpu_seconds_total"] {
                #expect(m.types[name] == "counter", "\(name): \(String(describing: m.types[name]))")
            }
            #expect(m.invalidLines.isEmpty, "\(m.invalidLines)")

            // promtool reads the raw exposition from stdin.
            let raw = try await SimpleHTTP.get(port: ports.metrics, path: "/metrics")
            #expect(raw.status == 200)
            #expect(raw.header("content-type")?.hasPrefix("text/plain") == true)
            let dir = try TemporaryDirectory(prefix: "e2e-metrics")
            let file = dir.file("metrics.txt")
            try raw.body.write(to: file)
            let check = try await CommandRunner.run(
                URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", "promtool check metrics < \"$0\"", file.path])
            #expect(check.exitCode == 0, "promtool: \(check.stdout)\(check.stderr)")
            await expectCleanLogAndStop(collector)
        }
    }
}
