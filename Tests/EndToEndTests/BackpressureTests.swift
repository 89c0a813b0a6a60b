import CollectorTesting
import Foundation
import Testing

extension E2E {
    /// A pipeline that cannot export pushes back instead of dropping: nobody reads the
    /// collector's stdout, so the debug exporter blocks in `write`, its queue and the pipeline's
    /// input ring fill up, and the receiver answers UNAVAILABLE. The SDK retries, and once
    /// stdout is read again everything acknowledged comes out.
    @Suite("Backpressure")
    struct Backpressure {
        @Test("full pipeline: UNAVAILABLE, SDK retries, nothing acknowledged is lost")
        func fullPipeline() async throws {
            let ports = try Ports()
            var config = TestConfig(ports: ports)
            // One request per batch (the batch processor would otherwise merge everything in
            // flight into one batch) and a small exporter queue, so the rings fill quickly.
            config.batch = ["timeout: 20ms", "send_batch_size: 1"]
            config.queueSize = 2
            // A pipeline ring of 64 (the default, 4096, holds bursts of thousands of clients).
            config.limits = ["pipeline_queue_size: 64"]
            let collector = try await config.start()
            defer { collector.resumeStdout() }

            collector.pauseStdout()
            // 20 kB spans fill the 64 KiB stdout pipe after a few requests; then 2 in the
            // exporter queue, 1 held by the pipeline and 64 in its input ring. 100 calls in
            // flight are more than that.
            let flood = try PythonClient.start(script: "raw_grpc.py", args: [
                "--endpoint", ports.grpcTarget, "--payload", "oversize", "--size", "20000",
                "--calls", "1000", "--concurrency", "100", "--timeout", "90", "--stop-on", "UNAVAILABLE",
            ])
            try await flood.waitForOutput(containing: "raw_grpc: first UNAVAILABLE", in: .stderr, timeout: .seconds(60))
            #expect(flood.stderrText.contains("pipeline traces is full"), "\(flood.stderrText)")

            let full = try await scrape(ports)
            let refusedByFlood = Counters(full).refusedSpans["grpc"] ?? 0
            #expect(refusedByFlood > 0)
            #expect(full.value("collectord_pipeline_ring_size", labels: ["pipeline": "traces"]) == 64)
            #expect(full.value("collectord_pipeline_ring_capacity", labels: ["pipeline": "traces"]) == 64)
            #expect(full.value("otelcol_exporter_queue_size", labels: ["exporter": "debug", "data_type": "traces"]) == 2)
            #expect(full.value("otelcol_exporter_queue_capacity", labels: ["exporter": "debug", "data_type": "traces"]) == 2)
            // Still healthy: pushing back is normal operation.
            #expect(try await SimpleHTTP.get(port: ports.health, path: "/").status == 200)

            // The SDK is refused too, and retries with backoff.
            let sdk = try startSDK(protocol: "grpc", ports: ports, args: ["--timeout", "60", "--seed", "61"])
            try await sdk.waitForOutput(
                containing: "Transient error StatusCode.UNAVAILABLE", in: .stderr, timeout: .seconds(30))
            #expect(sdk.isRunning)
            let refusedBeforeResume = try await counters(ports).refusedSpans["grpc"] ?? 0
            #expect(refusedBeforeResume > refusedByFlood)

            collector.resumeStdout()

            let floodResult = try await flood.result(timeout: .seconds(90))
            let floodReport = try floodResult.decode(RawGRPCFloodReport.self)
            #expect(Set(floodReport.codes.keys) == ["OK", "UNAVAILABLE"], "\(floodReport.codes) \(floodReport.details)")
            let floodOK = floodReport.count("OK")
            #expect(floodOK >= 64 + 2)
            let floodRefused = Double(floodReport.count("UNAVAILABLE"))
            #expect(floodRefused >= refusedByFlood)

            let sdkResult = try await sdk.result(timeout: .seconds(90))
            #expect(sdkResult.exitCode == 0, "\(sdkResult.stderr)")
            let report = try sdkResult.decode(ClientReport.self)
            #expect(report.ok && report.count == 4, "\(report.errors)")
            #expect(report.sdkLog.contains { $0.contains("Transient error StatusCode.UNAVAILABLE") })

            // Everything acknowledged was exported: to the flood and to the SDK.
            let text = try await waitForPrinted(collector, "Traces", count: floodOK + 4, timeout: .seconds(30))
            #expect(DebugOutput.itemCount(in: text, signal: "Traces") == floodOK + 4)
            #expect(printedSpans(named: "raw-grpc-span", in: text).count == floodOK)
            expectPrintedExactly(report, in: text, exclusive: false)

            let end = try await counters(ports)
            #expect(end.acceptedSpans["grpc"] == Double(floodOK + 4), "\(end)")
            #expect(end.sentSpans == end.acceptedSpans["grpc"], "\(end)")
            #expect(end.failedSpans == 0)
            // Refused = the flood's UNAVAILABLE answers + the SDK's refused attempts (at least
            // one; the SDK logs repeated warnings only once, so their number is not known).
            #expect((end.refusedSpans["grpc"] ?? 0) >= floodRefused + 1, "\(end)")
            #expect(end.refusedSpans["http"] == 0)
            let after = try await scrape(ports)
            #expect(after.value("collectord_pipeline_ring_size", labels: ["pipeline": "traces"]) == 0)
            #expect(after.value("otelcol_exporter_queue_size", labels: ["exporter": "debug", "data_type": "traces"]) == 0)
            await expectCleanLogAndStop(collector)
        }
    }
}
