import CollectorTesting
import Foundation
import Glibc
import Testing

extension E2E {
    /// The metrics signal and the `forward` connector, between the official Python SDK and a
    /// Python OTLP server (protobuf decoded by the official classes, not ours).
    @Suite("Connectors and metrics")
    struct Connectors {
        static func config(_ ports: Ports, sink: Int) -> String {
            """
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 127.0.0.1:\(ports.grpc)
                  http:
                    endpoint: 127.0.0.1:\(ports.http)
            processors:
              batch:
                timeout: 20ms
            connectors:
              forward:
            exporters:
              otlphttp:
                endpoint: http://127.0.0.1:\(sink)
                retry_on_failure: {initial_interval: 20ms, max_interval: 50ms}
            service:
              telemetry:
                metrics:
                  address: 127.0.0.1:\(ports.metrics)
              pipelines:
                metrics/in:
                  receivers: [otlp]
                  processors: [batch]
                  exporters: [forward]
                metrics/out:
                  receivers: [forward]
                  exporters: [otlphttp]
                traces/in:
                  receivers: [otlp]
                  exporters: [forward]
                traces/out:
                  receivers: [forward]
                  processors: [batch]
                  exporters: [otlphttp]
            """
        }

        struct MetricsReport: Decodable {
            var ok: Bool
            var exports: Int
            var points: [String]
            var errors: [String]
        }

        @Test("SDK metrics over gRPC and HTTP and SDK spans, through forward connectors, reach a Python OTLP server exactly")
        func metricsAndSpansThroughForward() async throws {
            let (ports, sinkPort) = (try Ports(), try FreePort.allocate())
            let sink = try PythonClient.start(script: "otlp_sink.py", args: ["--http-port", "\(sinkPort)", "--fail-first", "1", "--seconds", "90"])
            try await sink.waitForOutput(containing: "listening", in: .stderr)
            let collector = try CollectorProcess(config: Self.config(ports, sink: sinkPort))
            try await collector.waitForOutput(containing: "collectord started", in: .stderr)
            try await collector.waitForPort(ports.grpc)
            try await collector.waitForPort(ports.http)

            var sentPoints: [String] = []
            for (proto, endpoint) in [("grpc", ports.grpcEndpoint), ("http", ports.httpEndpoint)] {
                let result = try await PythonClient.run(script: "send_metrics.py",
                                                        args: ["--endpoint", endpoint, "--protocol", proto, "--service", "e2e-\(proto)"])
                #expect(result.exitCode == 0, "send_metrics.py \(proto):\n\(result.stderr)")
                let report = try result.decode(MetricsReport.self)
                #expect(report.ok && report.exports == 2 && report.points.count == 10, "\(proto): \(report.errors)")
                sentPoints += report.points
            }
            let spans = try await runSDK(protocol: "grpc", ports: ports, args: ["--count", "3", "--seed", "9"])

            // Every export was answered only once the sink had it (the first one after a 503
            // retried), so everything is there before the collector stops.
            let m = try await scrape(ports)
            #expect(m.value("otelcol_receiver_accepted_metric_points_total", labels: ["receiver": "otlp", "transport": "grpc"]) == 10)
            #expect(m.value("otelcol_receiver_accepted_metric_points_total", labels: ["receiver": "otlp", "transport": "http"]) == 10)
            #expect(m.sum("otelcol_exporter_sent_metric_points_total", labels: ["exporter": "otlphttp"]) == 20)
            #expect(m.sum("otelcol_exporter_sent_metric_points_total", labels: ["exporter": "forward"]) == 20)
            #expect(m.sum("otelcol_exporter_sent_spans_total", labels: ["exporter": "otlphttp"]) == Double(spans.count))
            #expect(await collector.stop() == 0, "\(collector.outputTail())")

            sink.signal(SIGTERM)
            let received = try JSONSerialization.jsonObject(with: Data(try await sink.result(timeout: .seconds(20)).stdout.utf8)) as? [String: Any] ?? [:]
            let points = received["metrics"] as? [String] ?? []
            #expect(points.count == 20 && points.sorted() == sentPoints.sorted(),
                    "sent \(sentPoints.count) points, received \(points.count)")
            // The values the SDK computed, as the server decoded them.
            let eu = points.filter { $0.contains(#""name":"e2e.orders""#) && $0.contains(#""stringValue":"eu""#) }
            #expect(eu.count == 4 && eu.allSatisfy { $0.contains(#""asInt":"8""#) })
            let latency = points.filter { $0.contains(#""name":"e2e.latency""#) }
            #expect(latency.count == 4 && latency.allSatisfy { $0.contains(#""count":"4""#) && $0.contains(#""sum":562.0"#) })
            let receivedSpans = (received["spans"] as? [[String: String]] ?? []).map { "\($0["traceId"] ?? "")/\($0["spanId"] ?? "")" }
            let sentSpans = (spans.spans ?? []).map { "\($0.traceId)/\($0.spanId)" }
            #expect(!sentSpans.isEmpty && receivedSpans.sorted() == sentSpans.sorted())
            let paths = Set(received["paths"] as? [String] ?? [])
            #expect(paths == ["/v1/metrics", "/v1/traces"])
        }

        static func reloadConfig(_ ports: Ports, sink: Int, downstreamTimeout: String) -> String {
            """
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 127.0.0.1:\(ports.grpc)
            processors:
              batch:
                timeout: \(downstreamTimeout)
            connectors:
              forward:
            exporters:
              otlphttp:
                endpoint: http://127.0.0.1:\(sink)
            service:
              telemetry:
                metrics:
                  address: 127.0.0.1:\(ports.metrics)
              pipelines:
                traces/in:
                  receivers: [otlp]
                  exporters: [forward]
                traces/out:
                  receivers: [forward]
                  processors: [batch]
                  exporters: [otlphttp]
            """
        }

        @Test("SIGHUP while spans flow through forward into a batching pipeline: every acknowledged span arrives once")
        func reloadThroughForward() async throws {
            let (ports, sinkPort) = (try Ports(), try FreePort.allocate())
            let sink = try PythonClient.start(script: "otlp_sink.py", args: ["--http-port", "\(sinkPort)", "--seconds", "120"])
            try await sink.waitForOutput(containing: "listening", in: .stderr)
            let collector = try CollectorProcess(config: Self.reloadConfig(ports, sink: sinkPort, downstreamTimeout: "300ms"))
            try await collector.waitForOutput(containing: "collectord started", in: .stderr)
            try await collector.waitForPort(ports.grpc)
            // 40 traces = 160 spans, one export request per span.
            let client = try startSDK(protocol: "grpc", ports: ports, args: ["--count", "40", "--seed", "73"])
            try await waitUntil("the client is sending", timeout: .seconds(30)) {
                (try await counters(ports).acceptedSpans["grpc"] ?? 0) >= 20
            }
            // The downstream pipeline's batch changes: both pipelines are rebuilt, the old ones
            // drain producers first (the old traces/out still holds a batch when traces/in stops).
            let mark = try collector.reload(config: Self.reloadConfig(ports, sink: sinkPort, downstreamTimeout: "50ms"))
            try await collector.waitForOutput(containing: "configuration reloaded: 2 pipeline(s)", in: .stderr, since: mark)
            let atReload = try await counters(ports).acceptedSpans["grpc"] ?? 0
            #expect(atReload < 160, "the client finished before the reload; make it send longer")
            let result = try await client.result(timeout: .seconds(120))
            #expect(result.exitCode == 0, "\(result.stderr)")
            let report = try result.decode(ClientReport.self)
            #expect(report.ok && report.count == 160, "\(report.errors)")
            #expect(await collector.stop() == 0, "\(collector.outputTail())")
            sink.signal(SIGTERM)
            let received = try JSONSerialization.jsonObject(with: Data(try await sink.result(timeout: .seconds(20)).stdout.utf8)) as? [String: Any] ?? [:]
            let spans = (received["spans"] as? [[String: String]] ?? []).map { "\($0["traceId"] ?? "")/\($0["spanId"] ?? "")" }
            let sent = (report.spans ?? []).map { "\($0.traceId)/\($0.spanId)" }
            #expect(spans.count == 160 && spans.sorted() == sent.sorted(), "received \(spans.count), \(Set(spans).count) distinct, of \(sent.count)")
        }

        @Test("validate: a connector cycle is refused, naming the pipelines")
        func cycleIsAConfigError() async throws {
            let config = """
                receivers:
                  otlp:
                    protocols:
                      grpc:
                connectors:
                  forward:
                  forward/back:
                exporters:
                  nop:
                service:
                  pipelines:
                    traces/a:
                      receivers: [otlp, forward/back]
                      exporters: [forward]
                    traces/b:
                      receivers: [forward]
                      exporters: [forward/back, nop]
                """
            let result = try await CollectorProcess.validate(config: config)
            #expect(result.exitCode == 1)
            #expect(result.stderr.contains(
                "service.pipelines.traces/a (line 13): connectors form a cycle: traces/a -> connector forward -> traces/b -> connector forward/back -> traces/a"),
                "\(result.stderr)")
        }
    }
}
