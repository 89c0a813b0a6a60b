import CollectorTesting
import Foundation
import OTLPCodec
import Store
import Testing

extension E2E {
    /// The store exporter with end-to-end acknowledgement: a client's export succeeds only after
    /// its spans are written to the segment file, so `kill -9` at any moment loses none of them.
    @Suite("Store")
    struct StoreCrash {
        func config(_ ports: Ports, data: String) -> String {
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
                  processors: [batch]
                  exporters: [store]
            """
        }

        @Test("kill -9 under load loses no acknowledged span; the store recovers on restart")
        func killNineLosesNothingAcknowledged() async throws {
            let ports = try Ports()
            let work = try TemporaryDirectory(prefix: "store-crash")
            let data = work.file("data").path
            let collector = try CollectorProcess(config: config(ports, data: data), workDirectory: work.file("run"))
            try await collector.waitForOutput(containing: "collectord started", in: .stderr)
            try await collector.waitForPort(ports.grpc)

            // Two SDK clients, each exporting every span on its own (SimpleSpanProcessor).
            let clients = try [91, 92].map { seed in
                try startSDK(protocol: "grpc", ports: ports,
                             args: ["--count", "150", "--timeout", "3", "--seed", String(seed)])
            }
            try await waitUntil("80 spans accepted", timeout: .seconds(60)) {
                let text = try await SimpleHTTP.metrics(port: ports.metrics)
                return text.sum("otelcol_receiver_accepted_spans_total") >= 80
            }
            collector.signal(SIGKILL)
            _ = try await collector.waitForExit(timeout: .seconds(10))
            #expect(collector.terminatedBySignal)

            // Every span whose export the SDK saw succeed must be in the store.
            let acknowledged = try await AcknowledgedSpans(clients)
            // 80 were accepted before the kill; a few of those were still in flight (unacknowledged).
            #expect(acknowledged.spans.count >= 50, "only \(acknowledged.spans.count) spans were acknowledged")
            let store = try TraceStore(config: StoreConfig(directory: data))
            let missing = acknowledged.missing(in: store)
            #expect(missing.isEmpty, "\(missing.count) acknowledged spans missing (of \(acknowledged.spans.count)): \(missing.prefix(5))")
            print("kill -9: \(acknowledged.spans.count) acknowledged spans, \(missing.count) missing, \(acknowledged.unacknowledged) unacknowledged")
            store.close()

            // The daemon starts again on the same data and keeps storing.
            let again = try CollectorProcess(config: config(ports, data: data), workDirectory: work.file("run"))
            try await again.waitForOutput(containing: "collectord started", in: .stderr)
            try await again.waitForPort(ports.grpc)
            let report = try await runSDK(protocol: "grpc", ports: ports, args: ["--count", "1", "--seed", "93"])
            #expect(report.ok && report.count == 4)
            #expect(await again.stop() == 0, "\(again.outputTail())")
            let reopened = try TraceStore(config: StoreConfig(directory: data))
            defer { reopened.close() }
            let id = try #require(OTLPTraceID(hex: report.traceIds[0]))
            #expect(reopened.trace(id)?.spanCount == 4)
        }
    }
}
