import CollectorTesting
import Foundation
import OTLPCodec
import Store
import Testing

extension E2E {
    /// Reload with a held trace: an unchanged tail_sampling keeps it; a changed one hands it to
    /// its successor. Either way it is decided once, at its time, and exported exactly once.
    @Suite("TailSamplingReload")
    struct TailSamplingReload {
        func config(_ ports: Ports, data: String, hold: String, wait: String, metricsLevel: String) -> String {
            """
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 127.0.0.1:\(ports.grpc)
            processors:
              tail_sampling:
                decision_wait: \(wait)
                storage: \(hold)
                policies:
                  - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}
            exporters:
              store:
                directory: \(data)
            service:
              telemetry:
                metrics:
                  address: 127.0.0.1:\(ports.metrics)
                  level: \(metricsLevel)
              pipelines:
                traces:
                  receivers: [otlp]
                  processors: [tail_sampling]
                  exporters: [store]
            """
        }

        @Test("an unchanged tail_sampling keeps its held traces; a changed one hands them over", arguments: [false, true])
        func reloadWithHeldTraces(changed: Bool) async throws {
            let ports = try Ports()
            let work = try TemporaryDirectory(prefix: "tail-reload")
            let data = work.file("data").path, hold = work.file("hold").path
            let collector = try CollectorProcess(config: config(ports, data: data, hold: hold, wait: "4s", metricsLevel: "normal"),
                                                 workDirectory: work.file("run"))
            try await collector.waitForOutput(containing: "collectord started", in: .stderr)
            try await collector.waitForPort(ports.grpc)
            let report = try await runSDK(protocol: "grpc", ports: ports, args: ["--count", "1", "--seed", "61"])
            #expect(report.ok && report.count == 4)
            let held = try await SimpleHTTP.metrics(port: ports.metrics).sum("otelcol_processor_tail_sampling_sampling_traces_on_memory")
            #expect(held == 1)
            // Unchanged processor (only the metrics level changes), or a changed decision_wait.
            let next = config(ports, data: data, hold: hold, wait: changed ? "5s" : "4s", metricsLevel: "detailed")
            let mark = try collector.reload(config: next)
            try await collector.waitForOutput(containing: "configuration reloaded", in: .stderr, since: mark)
            try await waitUntil("the held trace is decided", timeout: .seconds(30)) {
                try await SimpleHTTP.metrics(port: ports.metrics).sum("otelcol_processor_tail_sampling_global_count_traces_sampled_total") >= 1
            }
            let metrics = try await SimpleHTTP.metrics(port: ports.metrics)
            #expect(metrics.sum("otelcol_processor_tail_sampling_global_count_traces_sampled_total") == 1)
            #expect(metrics.sum("collectord_processor_tail_sampling_early_decisions_total") == 0)
            #expect(metrics.sum("collectord_processor_tail_sampling_handed_over_traces_total") == (changed ? 1 : 0))
            #expect(await collector.stop() == 0, "\(collector.outputTail())")
            let store = try TraceStore(config: StoreConfig(directory: data))
            defer { store.close() }
            let id = try #require(OTLPTraceID(hex: report.traceIds[0]))
            #expect(store.trace(id)?.spanCount == 4)   // all four spans, once
        }
    }
}
