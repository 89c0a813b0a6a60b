import CollectorTesting
import Foundation
import Glibc
import OTLPCodec
import Store
import Testing

extension E2E {
    /// An agent forwarding to a gateway with the `otlphttp` exporter and a disk queue: the
    /// SDK's exports are acknowledged once on the agent's disk, so neither the gateway being
    /// down nor `kill -9` of the agent loses an acknowledged span.
    @Suite("OTLP/HTTP exporter")
    struct OTLPHTTPForwarding {
        static func gateway(_ ports: Ports, data: String) -> String {
            """
            receivers:
              otlp:
                protocols:
                  http:
                    endpoint: 127.0.0.1:\(ports.http)
            exporters:
              store:
                directory: \(data)
                sync: interval
            service:
              telemetry:
                metrics:
                  address: 127.0.0.1:\(ports.metrics)
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [store]
            """
        }

        static func agent(_ ports: Ports, gateway: Ports, queue: String) -> String {
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
              otlphttp:
                endpoint: http://127.0.0.1:\(gateway.http)
                retry_on_failure:
                  initial_interval: 50ms
                  max_interval: 200ms
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
                  exporters: [otlphttp]
            """
        }

        @Test("gateway down, agent killed with -9 and restarted: every acknowledged span reaches the gateway")
        func killNineWhileTheGatewayIsDown() async throws {
            let (agentPorts, gatewayPorts) = (try Ports(), try Ports())
            let work = try TemporaryDirectory(prefix: "otlphttp-forward")
            let queue = work.file("queue").path
            let data = work.file("gateway-data").path
            let agent = try CollectorProcess(config: Self.agent(agentPorts, gateway: gatewayPorts, queue: queue), workDirectory: work.file("agent"))
            try await agent.waitForOutput(containing: "collectord started", in: .stderr)
            try await agent.waitForPort(agentPorts.grpc)

            // The gateway is down: the exports are acknowledged once queued on the agent's disk.
            let clients = try [71, 72].map { seed in
                try startSDK(protocol: "grpc", ports: agentPorts, args: ["--count", "150", "--timeout", "3", "--seed", String(seed)])
            }
            try await waitUntil("80 spans accepted", timeout: .seconds(60)) {
                try await SimpleHTTP.metrics(port: agentPorts.metrics).sum("otelcol_receiver_accepted_spans_total") >= 80
            }
            agent.signal(SIGKILL)
            _ = try await agent.waitForExit(timeout: .seconds(10))
            let acknowledged = try await AcknowledgedSpans(clients)
            #expect(acknowledged.spans.count >= 50, "only \(acknowledged.spans.count) spans were acknowledged")

            // The gateway comes up, the agent restarts on its queue and sends it all.
            let gateway = try CollectorProcess(config: Self.gateway(gatewayPorts, data: data), workDirectory: work.file("gateway"))
            try await gateway.waitForOutput(containing: "collectord started", in: .stderr)
            try await gateway.waitForPort(gatewayPorts.http)
            let again = try CollectorProcess(config: Self.agent(agentPorts, gateway: gatewayPorts, queue: queue), workDirectory: work.file("agent"))
            try await again.waitForOutput(containing: "collectord started", in: .stderr)
            try await waitUntil("the agent's queue is empty", timeout: .seconds(60)) {
                let m = try await SimpleHTTP.metrics(port: agentPorts.metrics)
                return m.matching("collectord_exporter_disk_queue_batches", labels: ["exporter": "otlphttp"]).count == 3   // traces, metrics, logs
                    && m.sum("collectord_exporter_disk_queue_batches", labels: ["exporter": "otlphttp"]) == 0
                    && m.sum("collectord_otlphttp_requests_total", labels: ["status": "200"]) >= 1
            }
            #expect(await again.stop() == 0, "\(again.outputTail())")
            #expect(await gateway.stop() == 0, "\(gateway.outputTail())")
            let store = try TraceStore(config: StoreConfig(directory: data))
            defer { store.close() }
            let missing = acknowledged.missing(in: store)
            #expect(missing.isEmpty, "\(missing.count) acknowledged spans missing (of \(acknowledged.spans.count)): \(missing.prefix(5))")
            print("otlphttp kill -9: \(acknowledged.spans.count) acknowledged spans, \(missing.count) missing")
        }

        /// Interop: the exporter's requests, read by the official Python protobuf classes on a
        /// plain Python HTTP server (not ours), which refuses the first two with 503.
        @Test("interop: a Python OTLP/HTTP server decodes every span, after two 503s retried")
        func pythonServerReceivesEverySpan() async throws {
            let (agentPorts, sinkPort) = (try Ports(), try FreePort.allocate())
            let sink = try PythonClient.start(script: "otlp_sink.py", args: ["--http-port", "\(sinkPort)", "--fail-first", "2", "--seconds", "60"])
            try await sink.waitForOutput(containing: "listening", in: .stderr)
            let config = """
                receivers:
                  otlp:
                    protocols:
                      grpc:
                        endpoint: 127.0.0.1:\(agentPorts.grpc)
                exporters:
                  otlphttp:
                    endpoint: http://127.0.0.1:\(sinkPort)
                    headers: {x-team: checkout}
                    retry_on_failure: {initial_interval: 20ms, max_interval: 50ms}
                service:
                  telemetry:
                    metrics:
                      address: 127.0.0.1:\(agentPorts.metrics)
                  pipelines:
                    traces:
                      receivers: [otlp]
                      exporters: [otlphttp]
                """
            let agent = try CollectorProcess(config: config)
            try await agent.waitForOutput(containing: "collectord started", in: .stderr)
            try await agent.waitForPort(agentPorts.grpc)
            let sent = try await runSDK(protocol: "grpc", ports: agentPorts, args: ["--count", "3", "--seed", "5"])
            #expect(await agent.stop() == 0)
            sink.signal(SIGTERM)
            let report = try JSONSerialization.jsonObject(with: Data(try await sink.result(timeout: .seconds(20)).stdout.utf8)) as? [String: Any] ?? [:]
            let received = (report["spans"] as? [[String: String]] ?? []).map { "\($0["traceId"] ?? "")/\($0["spanId"] ?? "")" }
            let expected = (sent.spans ?? []).map { "\($0.traceId)/\($0.spanId)" }
            #expect(!expected.isEmpty && received.sorted() == expected.sorted(), "sent \(expected.count), received \(received.count)")
            #expect(report["requests"] as? Int == 2 + (report["paths"] as? [String] ?? []).count)
            #expect((report["paths"] as? [String] ?? []).allSatisfy { $0 == "/v1/traces" })
            #expect((report["encodings"] as? [String] ?? []).allSatisfy { $0 == "gzip" })
            #expect((report["headers"] as? [[String: String]] ?? []).allSatisfy { $0["x-team"] == "checkout" })
        }
    }
}
