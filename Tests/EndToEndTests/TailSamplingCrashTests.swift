import CollectorTesting
import Foundation
import OTLPCodec
import Store
import Testing

extension E2E {
    /// tail_sampling with `storage`: a request is answered once its spans are synced to the hold,
    /// so `kill -9` while SDKs send loses none of them; the restart replays the hold and decides
    /// every trace.
    @Suite("TailSampling")
    struct TailSamplingCrash {
        func config(_ ports: Ports, data: String, hold: String, wait: String) -> String {
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
                  - name: errors
                    type: status_code
                    status_code: {status_codes: [ERROR]}
                  - name: not-health
                    type: string_attribute
                    string_attribute: {key: http.route, values: [/healthz], invert_match: true}
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
                  processors: [tail_sampling]
                  exporters: [store]
            """
        }

        @Test("kill -9 with a storage hold loses no acknowledged span of a sampled trace")
        func killNineWithStorage() async throws {
            let ports = try Ports()
            let work = try TemporaryDirectory(prefix: "tail-crash")
            let data = work.file("data").path, hold = work.file("hold").path
            let collector = try CollectorProcess(config: config(ports, data: data, hold: hold, wait: "60s"),
                                                 workDirectory: work.file("run"))
            try await collector.waitForOutput(containing: "collectord started", in: .stderr)
            try await collector.waitForPort(ports.grpc)
            let clients = try [71, 72].map { seed in
                try startSDK(protocol: "grpc", ports: ports, args: ["--count", "150", "--timeout", "3", "--seed", String(seed)])
            }
            try await waitUntil("80 spans accepted", timeout: .seconds(60)) {
                try await SimpleHTTP.metrics(port: ports.metrics).sum("otelcol_receiver_accepted_spans_total") >= 80
            }
            collector.signal(SIGKILL)
            _ = try await collector.waitForExit(timeout: .seconds(10))
            #expect(collector.terminatedBySignal)
            // Nothing was decided before the kill (decision_wait 60s): all of it is in the hold.
            #expect(try FileManager.default.contentsOfDirectory(atPath: hold).contains { $0.hasSuffix(".wal") })

            let acknowledged = try await AcknowledgedSpans(clients)
            #expect(acknowledged.spans.count >= 50, "only \(acknowledged.spans.count) spans were acknowledged")

            // Restart with a short wait: the hold is replayed and every trace decided.
            let again = try CollectorProcess(config: config(ports, data: data, hold: hold, wait: "1s"), workDirectory: work.file("run"))
            try await again.waitForOutput(containing: "collectord started", in: .stderr)
            try await waitUntil("the replayed traces are decided", timeout: .seconds(60)) {
                let m = try await SimpleHTTP.metrics(port: ports.metrics)
                return m.sum("collectord_processor_tail_sampling_replayed_traces_total") > 0
                    && m.sum("otelcol_processor_tail_sampling_sampling_traces_on_memory") == 0
            }
            let metrics = try await SimpleHTTP.metrics(port: ports.metrics)
            let replayed = metrics.sum("collectord_processor_tail_sampling_replayed_traces_total")
            #expect(await again.stop() == 0, "\(again.outputTail())")

            // Every trace of the test client has an ERROR span: each one is sampled, so each
            // acknowledged span must be in the store.
            let store = try TraceStore(config: StoreConfig(directory: data))
            defer { store.close() }
            let missing = acknowledged.missing(in: store)
            #expect(missing.isEmpty, "\(missing.count) acknowledged spans missing (of \(acknowledged.spans.count)): \(missing.prefix(5))")
            print("tail_sampling kill -9: \(acknowledged.spans.count) acknowledged spans, \(Int(replayed)) traces replayed, \(missing.count) missing")
        }
    }
}
