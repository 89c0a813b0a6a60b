import CollectorTesting
import Foundation
import Glibc
import Testing

extension E2E {
    /// RED metrics end to end: the Python SDK's spans -> `spanmetrics` -> `prometheus` exporter,
    /// scraped by Debian's real Prometheus, read back through Prometheus's HTTP API and compared
    /// with what the test computes itself from the spans the SDK reports it sent.
    @Suite("Span metrics in Prometheus")
    struct SpanMetricsPrometheus {
        static func config(_ ports: Ports, exporterPort: Int) -> String {
            """
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 127.0.0.1:\(ports.grpc)
            connectors:
              spanmetrics:
                metrics_flush_interval: 1s
            exporters:
              prometheus:
                endpoint: 127.0.0.1:\(exporterPort)
                const_labels: {cluster: e2e}
              nop:
            service:
              telemetry:
                metrics:
                  address: 127.0.0.1:\(ports.metrics)
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [spanmetrics, nop]
                metrics:
                  receivers: [spanmetrics]
                  exporters: [prometheus]
            """
        }

        /// Prometheus's instant query `query`: each result's labels and value.
        static func query(_ port: Int, _ query: String) async throws -> [(labels: [String: String], value: Double)] {
            var allowed = CharacterSet.urlQueryAllowed
            allowed.remove(charactersIn: "+&=")
            let encoded = query.addingPercentEncoding(withAllowedCharacters: allowed) ?? query
            let response = try await SimpleHTTP.get(port: port, path: "/api/v1/query?query=\(encoded)")
            let root = try JSONSerialization.jsonObject(with: response.body) as? [String: Any] ?? [:]
            let result = (root["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
            return result.map { r in
                let value = (r["value"] as? [Any])?.last as? String ?? "nan"
                return (r["metric"] as? [String: String] ?? [:], Double(value) ?? .nan)
            }
        }

        @Test("SDK spans of two services become calls and duration series in a real Prometheus, value for value")
        func redMetricsInPrometheus() async throws {
            let ports = try Ports()
            let extra = try FreePort.allocate(count: 2)
            let (exporterPort, promPort) = (extra[0], extra[1])
            let work = try TemporaryDirectory(prefix: "spanmetrics-prom")
            let collector = try CollectorProcess(config: Self.config(ports, exporterPort: exporterPort), workDirectory: work.file("collector"))
            try await collector.waitForOutput(containing: "collectord started", in: .stderr)
            try await collector.waitForPort(ports.grpc)
            // The traces pipeline only passes data on: spanmetrics is fed as each request enters.
            let own = String(decoding: try await SimpleHTTP.get(port: ports.metrics, path: "/metrics").body, as: UTF8.self)
            #expect(own.contains("collectord_pipeline_inline_exporters{pipeline=\"traces\"} 1\n"), "\(own)")
            #expect(own.contains("collectord_pipeline_inline_exporters{pipeline=\"metrics\"} 0\n"))

            try """
                global: {scrape_interval: 1s, evaluation_interval: 1s}
                scrape_configs:
                  - job_name: collectord
                    honor_labels: true
                    static_configs: [{targets: ["127.0.0.1:\(exporterPort)"]}]
                """.write(to: work.file("prometheus.yml"), atomically: true, encoding: .utf8)
            let prometheus = try ManagedProcess(
                executable: URL(fileURLWithPath: "/usr/bin/prometheus"),
                arguments: ["--config.file=\(work.file("prometheus.yml").path)", "--storage.tsdb.path=\(work.file("tsdb").path)",
                            "--web.listen-address=127.0.0.1:\(promPort)"])
            try await prometheus.waitForPort(promPort, timeout: .seconds(30))

            var spans: [ClientReport.Span] = []
            var serviceOf: [String: String] = [:]
            for (service, count, seed) in [("shop", 3, 11), ("pay", 2, 12)] {
                let report = try await runSDK(protocol: "grpc", ports: ports, args: ["--service", service, "--count", String(count), "--seed", String(seed)])
                for s in report.spans ?? [] { serviceOf[s.spanId] = service }
                spans += report.spans ?? []
            }
            #expect(spans.count == 20)

            // The series the test expects, from the spans the SDK exported.
            struct Expected { var calls = 0; var sumMs = 0.0; var buckets = [Int](repeating: 0, count: 17) }
            let bounds: [Double] = [2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10000, 15000]
            var expected: [String: Expected] = [:]
            for s in spans {
                let key = "\(serviceOf[s.spanId]!)|\(s.name)|\(s.kindName)|\(s.status.codeName)"
                let ms = Double(s.endTimeUnixNano > s.startTimeUnixNano ? s.endTimeUnixNano - s.startTimeUnixNano : 0) / 1e6
                expected[key, default: Expected()].calls += 1
                expected[key, default: Expected()].sumMs += ms
                expected[key, default: Expected()].buckets[bounds.firstIndex { ms <= $0 } ?? bounds.count] += 1
            }
            func key(_ labels: [String: String]) -> String {
                "\(labels["service_name"] ?? "")|\(labels["span_name"] ?? "")|\(labels["span_kind"] ?? "")|\(labels["status_code"] ?? "")"
            }

            try await waitUntil("Prometheus holds all 20 calls", timeout: .seconds(40)) {
                (try await Self.query(promPort, "sum(traces_span_metrics_calls_total)")).first?.value == 20
            }
            let calls = try await Self.query(promPort, "traces_span_metrics_calls_total")
            #expect(Dictionary(uniqueKeysWithValues: calls.map { (key($0.labels), Int($0.value)) })
                    == expected.mapValues(\.calls))
            #expect(calls.allSatisfy { $0.labels["cluster"] == "e2e" && $0.labels["job"] == $0.labels["service_name"] })
            let errors = try await Self.query(promPort, #"sum by (service_name) (traces_span_metrics_calls_total{status_code="STATUS_CODE_ERROR"})"#)
            #expect(Dictionary(uniqueKeysWithValues: errors.map { ($0.labels["service_name"] ?? "", $0.value) }) == ["shop": 3, "pay": 2])

            let counts = try await Self.query(promPort, "traces_span_metrics_duration_milliseconds_count")
            #expect(Dictionary(uniqueKeysWithValues: counts.map { (key($0.labels), Int($0.value)) }) == expected.mapValues(\.calls))
            for sum in try await Self.query(promPort, "traces_span_metrics_duration_milliseconds_sum") {
                let want = expected[key(sum.labels)]?.sumMs ?? -1
                #expect(abs(sum.value - want) <= 1e-9 * max(1, want), "\(key(sum.labels)): \(sum.value) vs \(want)")
            }
            let buckets = try await Self.query(promPort, "traces_span_metrics_duration_milliseconds_bucket")
            #expect(buckets.count == expected.count * 17)
            for b in buckets {
                let le = b.labels["le"] ?? ""
                let index = le == "+Inf" ? bounds.count : (bounds.firstIndex { $0 == Double(le) } ?? -1)
                let want = index < 0 ? -1 : (expected[key(b.labels)].map { Array($0.buckets[...index]).reduce(0, +) } ?? -1)
                #expect(Int(b.value) == want, "\(key(b.labels)) le=\(le)")
            }
            // A latency-SLO query over the buckets: the p99 of the shop's server spans lies in the
            // bucket of the slowest of them (Prometheus interpolates within it).
            let p99 = try await Self.query(promPort, #"histogram_quantile(0.99, sum by (le) (traces_span_metrics_duration_milliseconds_bucket{service_name="shop",span_kind="SPAN_KIND_SERVER"}))"#)
            let slowest = spans.filter { serviceOf[$0.spanId] == "shop" && $0.kindName == "SPAN_KIND_SERVER" }
                .map { Double($0.endTimeUnixNano - $0.startTimeUnixNano) / 1e6 }.max() ?? 0
            let bucket = bounds.firstIndex { slowest <= $0 } ?? bounds.count
            let (low, high) = (bucket == 0 ? 0 : bounds[bucket - 1], bucket < bounds.count ? bounds[bucket] : .infinity)
            #expect(p99.count == 1 && (p99.first.map { $0.value > low && $0.value <= high } ?? false), "\(p99) vs (\(low), \(high)]")

            prometheus.signal(SIGTERM)
            _ = try? await prometheus.waitForExit(timeout: .seconds(20))
            #expect(await collector.stop() == 0, "\(collector.outputTail())")
        }
    }
}
