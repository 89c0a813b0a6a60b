import CollectorTesting
import Foundation
import OTLPCodec
import Testing

extension E2E {
    /// Requests large enough that the `batch` processor keeps them by reference (64 KiB and
    /// more) and that their bodies come from the buffer pool: sent by a real gRPC client
    /// (grpcio) and over HTTP/1.1, merged into batches that go both to `nop` (which reads a
    /// batch part by part) and to the store (which gets it joined), then read back from the
    /// store trace by trace.
    @Suite("Large requests")
    struct LargeRequests {
        static let requests = 6, tracesPerRequest = 100, spansPerTrace = 3

        func config(grpc: Int, http: Int, query: Int, metrics: Int, data: String) -> String {
            """
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 127.0.0.1:\(grpc)
                  http:
                    endpoint: 127.0.0.1:\(http)
            processors:
              batch:
                send_batch_size: 1000
                timeout: 200ms
            exporters:
              store:
                directory: \(data)
              nop:
            extensions:
              query:
                endpoint: 127.0.0.1:\(query)
            service:
              extensions: [query]
              telemetry:
                metrics:
                  address: 127.0.0.1:\(metrics)
              pipelines:
                traces:
                  receivers: [otlp]
                  processors: [batch]
                  exporters: [store, nop]
            """
        }

        /// Request `r`: 100 traces of 3 spans, each span with a 200-byte attribute (about
        /// 100 KB in all); trace t of request r has number r * 1000 + t.
        static func request(_ r: Int) -> [UInt8] {
            var spans: [TestSpan] = []
            for t in 0..<tracesPerRequest {
                for s in 0..<spansPerTrace {
                    let n = (r * 1000 + t) * 10 + s
                    spans.append(TestSpan(traceID: traceID(r * 1000 + t + 1), spanID: spanID(n + 1), name: "r\(r) t\(t) s\(s)",
                                          start: 1_700_000_000_000_000_000, end: 1_700_000_000_000_000_000 + UInt64(s + 1) * 1_000_000,
                                          attributes: ["padding": .string(String(repeating: "p", count: 200))]))
                }
            }
            return OTLPBuild.traces([TestResource(service: "large-\(r)", items: spans)])
        }

        @Test("requests kept by reference in their batches reach the store whole, over gRPC and HTTP/1.1")
        func largeRequestsReachTheStoreWhole() async throws {
            let ports = try FreePort.allocate(count: 4)  // grpc, http, query, metrics
            let work = try TemporaryDirectory(prefix: "large-e2e")
            let collector = try CollectorProcess(config: config(grpc: ports[0], http: ports[1], query: ports[2], metrics: ports[3],
                                                               data: work.file("data").path))
            try await collector.waitForOutput(containing: "collectord started", in: .stderr)
            try await collector.waitForPort(ports[2])

            for r in 0..<Self.requests {
                let body = Self.request(r)
                #expect(body.count > 64 << 10, "large enough to be kept by reference (\(body.count) bytes)")
                if r % 2 == 0 {
                    let file = work.file("request-\(r).pb")
                    try Data(body).write(to: file)
                    let sent = try await PythonClient.run(script: "raw_grpc.py", args: [
                        "--endpoint", "127.0.0.1:\(ports[0])", "--payload", "file", "--file", file.path,
                    ])
                    #expect(sent.exitCode == 0, "\(sent.stdout) \(sent.stderr)")
                } else {
                    let response = try await SimpleHTTP.post(port: ports[1], path: "/v1/traces", body: Data(body))
                    #expect(response.status == 200, "\(response.text)")
                }
            }
            let spans = Double(Self.requests * Self.tracesPerRequest * Self.spansPerTrace)
            try await waitUntil("every span exported to both", timeout: .seconds(20)) {
                let m = try await SimpleHTTP.metrics(port: ports[3])
                return m.sum("otelcol_exporter_sent_spans_total", labels: ["exporter": "store"]) == spans
                    && m.sum("otelcol_exporter_sent_spans_total", labels: ["exporter": "nop"]) == spans
            }

            for r in 0..<Self.requests {
                for t in 0..<Self.tracesPerRequest {
                    let id = traceID(r * 1000 + t + 1).map { String(format: "%02x", $0) }.joined()
                    let response = try await SimpleHTTP.get(port: ports[2], path: "/api/traces/\(id)")
                    #expect(response.status == 200, "trace \(r)/\(t): \(response.status)")
                    let body = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
                    let trace = (body?["data"] as? [[String: Any]])?.first
                    let names = ((trace?["spans"] as? [[String: Any]]) ?? []).compactMap { $0["operationName"] as? String }
                    #expect(names.sorted() == (0..<Self.spansPerTrace).map { "r\(r) t\(t) s\($0)" }, "trace \(r)/\(t)")
                }
            }
            let m = try await SimpleHTTP.metrics(port: ports[3])
            #expect(m.sum("otelcol_receiver_accepted_spans_total") == spans)
            #expect(m.sum("otelcol_exporter_send_failed_spans_total") == 0)
        }
    }
}
