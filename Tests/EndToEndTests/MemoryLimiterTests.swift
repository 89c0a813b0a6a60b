import CollectorTesting
import Foundation
import Testing

extension E2E {
    /// `memory_limiter` with `limit_mib` far below the collector's RSS refuses the SDK's exports
    /// with the retryable statuses (HTTP 503 with Retry-After, gRPC UNAVAILABLE), counts them,
    /// and after a SIGHUP with a generous limit the same data goes through.
    @Suite("MemoryLimiter")
    struct MemoryLimiter {
        @Test("limit below the RSS: 503 and UNAVAILABLE to the SDK, counted; a reload with room lets it through")
        func refusesThenAcceptsAfterReload() async throws {
            let ports = try Ports()
            var config = TestConfig(ports: ports)
            config.memoryLimiter = ["check_interval: 100ms", "limit_mib: 2"]
            let collector = try await config.start()
            let refusing = try await collector.waitForOutput(
                containing: "Memory usage is above soft limit. Refusing data.", in: .stderr, timeout: .seconds(10))
            #expect(refusing.contains("processor/memory_limiter: Memory limiter configured limit_mib=2 spike_limit_mib=0 check_interval=100ms"),
                    "\(refusing)")

            // Each client retries for 3 s, then gives up on its first request.
            let http = try await PythonClient.run(script: "send_traces.py", args: [
                "--endpoint", ports.httpEndpoint, "--protocol", "http", "--timeout", "3", "--seed", "91",
            ], timeout: .seconds(60))
            #expect(http.exitCode == 1, "\(http.stderr)")
            let httpReport = try http.decode(ClientReport.self)
            #expect(!httpReport.ok)
            #expect(httpReport.exports.first?.result == "FAILURE")
            #expect(httpReport.sdkLog.contains {
                $0.contains("Transient error Service Unavailable encountered while exporting spans batch, retrying in 1.00s")
            }, "\(httpReport.sdkLog)")   // 503, and the Retry-After: 1 the SDK honoured

            let grpc = try await PythonClient.run(script: "send_logs.py", args: [
                "--endpoint", ports.grpcEndpoint, "--protocol", "grpc", "--timeout", "3", "--seed", "92",
            ], timeout: .seconds(60))
            #expect(grpc.exitCode == 1, "\(grpc.stderr)")
            let grpcReport = try grpc.decode(ClientReport.self)
            #expect(!grpcReport.ok)
            #expect(grpcReport.sdkLog.contains {
                $0.contains("Transient error StatusCode.UNAVAILABLE") && $0.contains("Error details: data refused due to high memory usage")
            }, "\(grpcReport.sdkLog)")

            // Refused by the processor, and answered with an error by the receiver: the same items.
            let refused = try await scrape(ports)
            let limiter = ["processor": "memory_limiter"]
            let refusedSpans = refused.value("otelcol_processor_refused_spans_total", labels: limiter) ?? 0
            let refusedLogs = refused.value("otelcol_processor_refused_log_records_total", labels: limiter) ?? 0
            #expect(refusedSpans >= 2, "the SDK retried at least once")
            #expect(refusedLogs >= 2 * 4, "the SDK retried its 4 records at least once")
            let c = Counters(refused)
            #expect(c.refusedSpans["http"] == refusedSpans && c.refusedSpans["grpc"] == 0, "\(c)")
            #expect(c.refusedLogs["grpc"] == refusedLogs && c.refusedLogs["http"] == 0, "\(c)")
            #expect(refused.value("otelcol_processor_accepted_spans_total", labels: limiter) == 0)
            #expect(refused.value("otelcol_processor_accepted_log_records_total", labels: limiter) == 0)
            #expect(c.sentSpans == 0 && c.sentLogs == 0)
            #expect(refused.value("collectord_memory_limiter_refusing", labels: limiter) == 1)
            #expect(refused.value("collectord_memory_limiter_hard_limit_bytes", labels: limiter) == Double(2 << 20))
            #expect(refused.value("collectord_memory_limiter_soft_limit_bytes", labels: limiter) == Double((2 << 20) - (2 << 20) / 5))
            let rss = refused.value("collectord_memory_limiter_rss_bytes", labels: limiter) ?? 0
            #expect(rss > Double(2 << 20), "RSS \(rss)")
            #expect(refused.value("collectord_memory_limiter_transitions_total", labels: limiter.merging(["to": "refusing"]) { a, _ in a }) == 1)
            #expect((refused.value("collectord_memory_limiter_trims_total", labels: limiter) ?? 0) >= 1)
            #expect(collector.stdoutText.isEmpty, "nothing refused reached the exporter")

            // A generous limit: the new monitor finds the process well within it.
            var roomy = config
            roomy.memoryLimiter = ["check_interval: 100ms", "limit_mib: 4000"]
            let mark = try collector.reload(config: roomy.yaml)
            try await collector.waitForOutput(containing: "configuration reloaded: 2 pipeline(s)", in: .stderr, since: mark)
            let reloadLog = collector.text(.stderr, since: mark)
            #expect(reloadLog.contains("Memory limiter configured limit_mib=4000 spike_limit_mib=800 check_interval=100ms"), "\(reloadLog)")
            #expect(!reloadLog.contains("Refusing data"), "\(reloadLog)")

            let traces = try await runSDK(protocol: "http", ports: ports, args: ["--timeout", "10", "--seed", "91"])
            let logs = try await runSDK("logs", protocol: "grpc", ports: ports, args: ["--timeout", "10", "--seed", "92"])
            #expect(traces.sdkLog.isEmpty && logs.sdkLog.isEmpty, "\(traces.sdkLog) \(logs.sdkLog)")
            let text = try await waitForPrinted(collector, "Traces", count: 4)
            try await waitForPrinted(collector, "Logs", count: 4)
            expectPrintedExactly(traces, in: text, exclusive: false)
            expectPrintedExactly(logs, in: collector.stdoutText, exclusive: false)

            let after = try await scrape(ports)
            #expect(after.value("otelcol_processor_accepted_spans_total", labels: limiter) == 4)
            #expect(after.value("otelcol_processor_accepted_log_records_total", labels: limiter) == 4)
            #expect(after.value("otelcol_processor_refused_spans_total", labels: limiter) == refusedSpans)
            #expect(after.value("otelcol_processor_refused_log_records_total", labels: limiter) == refusedLogs)
            #expect(after.value("collectord_memory_limiter_refusing", labels: limiter) == 0)
            #expect(after.value("collectord_memory_limiter_hard_limit_bytes", labels: limiter) == Double(4000 << 20))
            let end = Counters(after)
            #expect(end.sentSpans == 4 && end.sentLogs == 4, "\(end)")
            await collector.stop()
        }
    }
}
