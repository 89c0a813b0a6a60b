import CollectorCore
import CollectorTesting
import ExporterHelper
import Foundation
import OTLPCodec
import OTLPExporter
import Synchronization
import Testing
import Transport

/// The `otlp` (gRPC) exporter against a scripted gRPC server (the transport's GRPCServer): what
/// it sends (method, metadata, compression), what it retries, what it drops, partial success,
/// and the disk queue.
@Suite struct OTLPExporterTests {
    final class Backend: Sendable {
        struct Seen: Sendable {
            var path: String
            var headers: HTTPHeaders
            var message: [UInt8]
        }

        final class Recorder: Sendable {
            let seen = Mutex<[Seen]>([])
            let script: Mutex<[GRPCResponse]>
            init(_ script: [GRPCResponse]) { self.script = Mutex(script) }
        }

        let recorder: Recorder
        let server: GRPCServer
        let port: Int
        var requests: [Seen] { recorder.seen.withLock { $0 } }

        init(_ script: [GRPCResponse] = [], port: Int = 0) throws {
            let recorder = Recorder(script)
            self.recorder = recorder
            server = GRPCServer(endpoint: Endpoint(host: "127.0.0.1", port: port)) { request, respond in
                recorder.seen.withLock { $0.append(Seen(path: request.path, headers: request.headers, message: request.message)) }
                respond(recorder.script.withLock { $0.isEmpty ? GRPCResponse(status: .ok, body: []) : $0.removeFirst() })
            }
            try server.start()
            self.port = server.boundPort!
        }

        deinit { server.shutdown(deadline: .now()) {} }
    }

    static func settings(_ port: Int, _ configure: (inout OTLPExporterSettings) -> Void = { _ in }) -> OTLPExporterSettings {
        var s = OTLPExporterSettings()
        s.endpoint = "127.0.0.1:\(port)"
        s.tls.insecure = true
        s.retry.initialInterval = 1_000_000
        s.retry.maxInterval = 2_000_000
        s.headers = ["x-tenant": "a"]
        configure(&s)
        return s
    }

    static let spans = OTLPBuild.traces([TestResource(service: "svc", items: [
        TestSpan(traceID: traceID(1), spanID: spanID(1), name: "a", start: 1, end: 2)])])
    static let logs = OTLPBuild.logs([TestResource(service: "svc", items: [TestLog(time: 5, body: "hello")])])

    @Test func sendsEachSignalToItsMethodCompressedWithMetadata() throws {
        let backend = try Backend()
        for compression in [OTLPExporterSettings.Compression.gzip, .zstd, .none] {
            let exporter = try OTLPExporter(settings: Self.settings(backend.port) { $0.compression = compression },
                                            logger: .discarding, metrics: MetricsRegistry())
            try exporter.export(TelemetryBatch(signal: .traces, payload: Self.spans, itemCount: 1))
            try exporter.export(TelemetryBatch(signal: .logs, payload: Self.logs, itemCount: 1))
            exporter.shutdown()
        }
        let seen = backend.requests
        #expect(seen.map(\.path) == Array(repeating: ["/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                                                       "/opentelemetry.proto.collector.logs.v1.LogsService/Export"], count: 3).flatMap { $0 })
        #expect(seen.map(\.message) == Array(repeating: [Self.spans, Self.logs], count: 3).flatMap { $0 })
        #expect(seen.map { $0.headers["grpc-encoding"] ?? "identity" } == ["gzip", "gzip", "zstd", "zstd", "identity", "identity"])
        #expect(seen.allSatisfy { $0.headers["x-tenant"] == "a" && $0.headers["grpc-timeout"] != nil })
    }

    /// UNAVAILABLE and RESOURCE_EXHAUSTED with a RetryInfo are retried; then OK.
    @Test func retryableStatusesAreRetried() throws {
        // google.rpc.Status{code 8, message, details [Any{type_url RetryInfo, value {retry_delay {nanos 1000}}}]}
        let retryInfo: [UInt8] = Array("type.googleapis.com/google.rpc.RetryInfo".utf8)
        let delay: [UInt8] = [0x0A, 0x03, 0x10, 0xE8, 0x07]   // RetryInfo.retry_delay = Duration{nanos: 1000}
        var any: [UInt8] = [0x0A, UInt8(retryInfo.count)] + retryInfo
        any += [0x12, UInt8(delay.count)] + delay
        let status: [UInt8] = [0x08, 0x08, 0x1A, UInt8(any.count)] + any
        let details = Data(status).base64EncodedString()
        let backend = try Backend([
            GRPCResponse(status: .unavailable, message: "busy"),
            GRPCResponse(status: .resourceExhausted, message: "slow down", trailers: ["grpc-status-details-bin": details]),
        ])
        let metrics = MetricsRegistry()
        let exporter = try OTLPExporter(settings: Self.settings(backend.port), logger: .discarding, metrics: metrics)
        try exporter.export(TelemetryBatch(signal: .traces, payload: Self.spans, itemCount: 1))
        #expect(backend.requests.count == 3)
        #expect(metrics.render().contains("collectord_otlp_exporter_retries_total{exporter=\"otlp\"} 2"))
        exporter.shutdown()
    }

    /// RESOURCE_EXHAUSTED without RetryInfo, and INVALID_ARGUMENT, are permanent: not retried.
    @Test func otherStatusesAreDroppedAtOnce() throws {
        let backend = try Backend([GRPCResponse(status: .resourceExhausted, message: "too big"),
                                   GRPCResponse(status: .invalidArgument, message: "bad")])
        let exporter = try OTLPExporter(settings: Self.settings(backend.port), logger: .discarding, metrics: MetricsRegistry())
        for expected in ["otlp: export failed (RESOURCE_EXHAUSTED: too big)", "otlp: export failed (INVALID_ARGUMENT: bad)"] {
            do {
                try exporter.export(TelemetryBatch(signal: .traces, payload: Self.spans, itemCount: 1))
                Issue.record("a refusal was not reported")
            } catch {
                #expect(error.retry == .permanent)
                #expect(error.message == expected)
            }
        }
        #expect(backend.requests.count == 2)
        exporter.shutdown()
    }

    @Test func partialSuccessIsDeliveredAndCounted() throws {
        let partial = OTLPResponse.encode(.traces, rejected: 2, errorMessage: "too old")
        let backend = try Backend([GRPCResponse(status: .ok, body: partial)])
        let metrics = MetricsRegistry()
        let exporter = try OTLPExporter(settings: Self.settings(backend.port), logger: .discarding, metrics: metrics)
        try exporter.export(TelemetryBatch(signal: .traces, payload: Self.spans, itemCount: 1))
        #expect(metrics.render().contains("collectord_otlp_exporter_partially_rejected_items_total{exporter=\"otlp\",signal=\"traces\"} 2"))
        exporter.shutdown()
    }

    @Test func aDeadServerGivesUpRetryably() throws {
        let port = try FreePort.allocate()
        let exporter = try OTLPExporter(settings: Self.settings(port) { $0.retry.maxElapsedTime = 20_000_000 },
                                        logger: .discarding, metrics: MetricsRegistry())
        do {
            try exporter.export(TelemetryBatch(signal: .traces, payload: Self.spans, itemCount: 1))
            Issue.record("a dead server was not reported")
        } catch {
            #expect(error.retry == .retryable)
            #expect(error.message.hasPrefix("otlp: export failed (UNAVAILABLE: "), "\(error.message)")
        }
        exporter.shutdown()
    }

    /// With a disk queue, export returns once the batch is on disk; a server that comes up later
    /// gets everything queued, merged into one call.
    @Test func theDiskQueueHoldsWhatTheServerDidNotTake() async throws {
        let storage = try TemporaryDirectory(prefix: "otlp-queue")
        let port = try FreePort.allocate()
        let settings = Self.settings(port) { $0.queue.storage = storage.url.path }
        do {
            let exporter = try OTLPExporter(settings: settings, logger: .discarding, metrics: MetricsRegistry())
            try exporter.start()
            for _ in 0..<3 { try exporter.export(TelemetryBatch(signal: .traces, payload: Self.spans, itemCount: 1)) }
            exporter.shutdown()
        }
        let backend = try Backend(port: port)
        let exporter = try OTLPExporter(settings: settings, logger: .discarding, metrics: MetricsRegistry())
        try exporter.start()
        for _ in 0..<500 where backend.requests.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(backend.requests.map(\.message) == [Self.spans + Self.spans + Self.spans])
        exporter.shutdown()
    }
}
