import CollectorTesting
import Foundation
import Glibc
import OTLPCodec
import Store
import Testing

extension E2E {
    /// The `otlp` (gRPC) exporter between an agent and a gateway, and to a server that is not
    /// ours.
    @Suite("OTLP/gRPC exporter")
    struct OTLPGRPCForwarding {
        static func agent(_ ports: Ports, gatewayPort: Int, queue: String) -> String {
            """
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 127.0.0.1:\(ports.grpc)
            processors:
              batch:
                timeout: 20ms
            exporters:
              otlp:
                endpoint: 127.0.0.1:\(gatewayPort)
                tls: {insecure: true}
                retry_on_failure: {initial_interval: 100ms, max_interval: 1s}
                sending_queue:
                  storage: \(queue)
            service:
              telemetry:
                metrics:
                  address: 127.0.0.1:\(ports.metrics)
              pipelines:
                traces:
                  receivers: [otlp]
                  processors: [batch]
                  exporters: [otlp]
            """
        }

        static func gateway(grpc: Int, metrics: Int, data: String) -> String {
            """
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 127.0.0.1:\(grpc)
            exporters:
              store:
                directory: \(data)
                sync: interval
            service:
              telemetry:
                metrics:
                  address: 127.0.0.1:\(metrics)
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [store]
            """
        }

        @Test("the gateway down for 20 s, the agent killed with -9 and restarted: 0 acknowledged spans lost")
        func gatewayDownAndAgentKilled() async throws {
            let agentPorts = try Ports()
            let gatewayPorts = try FreePort.allocate(count: 2)
            let work = try TemporaryDirectory(prefix: "otlp-forward")
            let queue = work.file("queue").path
            let data = work.file("gateway-data").path
            let downSince = ContinuousClock.now
            let agent = try CollectorProcess(config: Self.agent(agentPorts, gatewayPort: gatewayPorts[0], queue: queue), workDirectory: work.file("agent"))
            try await agent.waitForOutput(containing: "collectord started", in: .stderr)
            try await agent.waitForPort(agentPorts.grpc)
            let clients = try [81, 82].map { seed in
                try startSDK(protocol: "grpc", ports: agentPorts, args: ["--count", "150", "--timeout", "3", "--seed", String(seed)])
            }
            try await waitUntil("80 spans accepted", timeout: .seconds(60)) {
                try await SimpleHTTP.metrics(port: agentPorts.metrics).sum("otelcol_receiver_accepted_spans_total") >= 80
            }
            agent.signal(SIGKILL)
            _ = try await agent.waitForExit(timeout: .seconds(10))
            let acknowledged = try await AcknowledgedSpans(clients)
            #expect(acknowledged.spans.count >= 50, "only \(acknowledged.spans.count) spans were acknowledged")
            // The agent is back on its queue; the gateway stays down until 20 s have passed.
            let again = try CollectorProcess(config: Self.agent(agentPorts, gatewayPort: gatewayPorts[0], queue: queue), workDirectory: work.file("agent"))
            try await again.waitForOutput(containing: "collectord started", in: .stderr)
            let remaining = Duration.seconds(20) - (ContinuousClock.now - downSince)
            if remaining > .zero { try await Task.sleep(for: remaining) }
            let gateway = try CollectorProcess(config: Self.gateway(grpc: gatewayPorts[0], metrics: gatewayPorts[1], data: data), workDirectory: work.file("gateway"))
            try await gateway.waitForOutput(containing: "collectord started", in: .stderr)
            try await waitUntil("the agent's queue is empty and the gateway took what was acknowledged", timeout: .seconds(60)) {
                let m = try await SimpleHTTP.metrics(port: agentPorts.metrics)
                let g = try await SimpleHTTP.metrics(port: gatewayPorts[1])
                return m.matching("collectord_exporter_disk_queue_batches", labels: ["exporter": "otlp"]).count == 3   // traces, metrics, logs
                    && m.sum("collectord_exporter_disk_queue_batches", labels: ["exporter": "otlp"]) == 0
                    && g.sum("otelcol_receiver_accepted_spans_total") >= Double(acknowledged.spans.count)
            }
            #expect(await again.stop() == 0, "\(again.outputTail())")
            #expect(await gateway.stop() == 0, "\(gateway.outputTail())")
            let store = try TraceStore(config: StoreConfig(directory: data))
            defer { store.close() }
            let missing = acknowledged.missing(in: store)
            #expect(missing.isEmpty, "\(missing.count) acknowledged spans missing (of \(acknowledged.spans.count)): \(missing.prefix(5))")
            print("otlp, gateway down 20 s and kill -9: \(acknowledged.spans.count) acknowledged spans, \(missing.count) missing")
        }

        /// Interop: the exporter's calls, served by Python's grpcio with the official
        /// opentelemetry-proto servicers (not ours), which refuses the first two UNAVAILABLE (gzip
        /// is decompressed by grpcio, which hides the grpc-encoding header from the servicer).
        @Test("interop: a Python grpcio OTLP server decodes every span and log record, after two UNAVAILABLE retried")
        func pythonGRPCServerReceivesEverything() async throws {
            let (agentPorts, sinkPort) = (try Ports(), try FreePort.allocate())
            let sink = try PythonClient.start(script: "otlp_sink.py", args: ["--grpc-port", "\(sinkPort)", "--fail-first", "2", "--seconds", "60"])
            try await sink.waitForOutput(containing: "listening", in: .stderr)
            let config = """
                receivers:
                  otlp:
                    protocols:
                      grpc:
                        endpoint: 127.0.0.1:\(agentPorts.grpc)
                exporters:
                  otlp:
                    endpoint: 127.0.0.1:\(sinkPort)
                    tls: {insecure: true}
                    compression: gzip
                    headers: {x-team: checkout}
                    retry_on_failure: {initial_interval: 20ms, max_interval: 50ms}
                service:
                  telemetry:
                    metrics:
                      address: 127.0.0.1:\(agentPorts.metrics)
                  pipelines:
                    traces: {receivers: [otlp], exporters: [otlp]}
                    logs: {receivers: [otlp], exporters: [otlp]}
                """
            let agent = try CollectorProcess(config: config)
            try await agent.waitForOutput(containing: "collectord started", in: .stderr)
            try await agent.waitForPort(agentPorts.grpc)
            let spans = try await runSDK(protocol: "grpc", ports: agentPorts, args: ["--count", "3", "--seed", "6"])
            let logs = try await runSDK("logs", protocol: "grpc", ports: agentPorts, args: ["--seed", "7"])
            #expect(await agent.stop() == 0)
            sink.signal(SIGTERM)
            let report = try JSONSerialization.jsonObject(with: Data(try await sink.result(timeout: .seconds(20)).stdout.utf8)) as? [String: Any] ?? [:]
            let received = (report["spans"] as? [[String: String]] ?? []).map { "\($0["traceId"] ?? "")/\($0["spanId"] ?? "")" }
            let expected = (spans.spans ?? []).map { "\($0.traceId)/\($0.spanId)" }
            #expect(!expected.isEmpty && received.sorted() == expected.sorted(), "sent \(expected.count), received \(received.count)")
            #expect((report["logs"] as? [[String: String]] ?? []).count == (logs.logRecords ?? []).count)
            #expect((report["headers"] as? [[String: String]] ?? []).allSatisfy { $0["x-team"] == "checkout" })
            #expect(report["requests"] as? Int == 2 + (report["paths"] as? [String] ?? []).count)
        }
    }
}
