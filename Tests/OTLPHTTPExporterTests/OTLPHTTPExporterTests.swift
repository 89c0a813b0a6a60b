import CollectorCore
import CollectorTesting
import Dispatch
import ExporterHelper
import Foundation
import OTLPCodec
import OTLPHTTPExporter
import Synchronization
import Testing
import Transport

/// The `otlphttp` exporter against a scripted OTLP/HTTP server (the transport's HTTPServer):
/// what it sends (paths, headers, gzip, JSON), what it retries (429/502/503/504 with
/// Retry-After, connection failures), what it drops, partial success, and the disk queue.
@Suite struct OTLPHTTPExporterTests {
    /// Records requests and answers with the next scripted response (200 when none is left).
    final class Backend: Sendable {
        struct Seen: Sendable {
            var path: String
            var headers: HTTPHeaders
            var body: [UInt8]
        }

        final class Recorder: Sendable {
            let seen = Mutex<[Seen]>([])
            let script: Mutex<[HTTPResponse]>
            init(_ script: [HTTPResponse]) { self.script = Mutex(script) }
        }

        let recorder: Recorder
        let server: HTTPServer
        let port: Int
        /// What was received so far.
        var requests: [Seen] { recorder.seen.withLock { $0 } }

        init(_ script: [HTTPResponse] = [], port: Int = 0) throws {
            let recorder = Recorder(script)
            self.recorder = recorder
            server = HTTPServer(endpoint: Endpoint(host: "127.0.0.1", port: port)) { request, respond in
                var body = request.body
                if request.headers["content-encoding"] == "gzip" { body = (try? Gzip.decompress(body, limit: 64 << 20)) ?? [] }
                recorder.seen.withLock { $0.append(Seen(path: request.path, headers: request.headers, body: body)) }
                respond(recorder.script.withLock {
                    $0.isEmpty ? HTTPResponse(status: 200, headers: [("Content-Type", "application/x-protobuf")], body: []) : $0.removeFirst()
                })
            }
            try server.start()
            self.port = server.boundPort!
        }

        deinit { server.shutdown(deadline: .now()) {} }
    }

    static func settings(_ port: Int, _ configure: (inout OTLPHTTPSettings) -> Void = { _ in }) -> OTLPHTTPSettings {
        var s = OTLPHTTPSettings()
        s.endpoint = "http://127.0.0.1:\(port)/prefix/"
        s.retry.initialInterval = 1_000_000
        s.retry.maxInterval = 2_000_000
        s.headers = ["X-Tenant": "a"]
        configure(&s)
        return s
    }

    static let spans = OTLPBuild.traces([TestResource(service: "svc", items: [
        TestSpan(traceID: traceID(1), spanID: spanID(1), name: "a", start: 1, end: 2)])])
    static let logs = OTLPBuild.logs([TestResource(service: "svc", items: [TestLog(time: 5, body: "hello")])])

    @Test func sendsEachSignalToItsPathGzippedWithHeaders() throws {
        let backend = try Backend()
        let exporter = try OTLPHTTPExporter(settings: Self.settings(backend.port), logger: .discarding, metrics: MetricsRegistry())
        try exporter.start()
        defer { exporter.shutdown() }
        try exporter.export(TelemetryBatch(signal: .traces, payload: Self.spans, itemCount: 1))
        try exporter.export(TelemetryBatch(signal: .logs, payload: Self.logs, itemCount: 1))
        let seen = backend.requests
        #expect(seen.map(\.path) == ["/prefix/v1/traces", "/prefix/v1/logs"])
        #expect(seen.map(\.body) == [Self.spans, Self.logs])
        #expect(seen.allSatisfy { $0.headers["content-encoding"] == "gzip" && $0.headers["x-tenant"] == "a"
            && $0.headers["content-type"] == "application/x-protobuf" })
    }

    @Test func jsonEncodingWithoutCompression() throws {
        let backend = try Backend()
        let exporter = try OTLPHTTPExporter(settings: Self.settings(backend.port) {
            $0.encoding = .json
            $0.compression = .none
        }, logger: .discarding, metrics: MetricsRegistry())
        try exporter.export(TelemetryBatch(signal: .traces, payload: Self.spans, itemCount: 1))
        let seen = try #require(backend.requests.first)
        #expect(seen.headers["content-type"] == "application/json" && seen.headers["content-encoding"] == nil)
        #expect(try OTLPJSON.decode(.traces, json: seen.body) == Self.spans)
        exporter.shutdown()
    }

    /// 503 with Retry-After, 429 and 502 are retried (the server's delay honoured), then 200.
    @Test func retryableAnswersAreRetried() throws {
        var busy = HTTPResponse.text(503, "busy")
        busy.headers.add(name: "Retry-After", value: "0")
        let backend = try Backend([busy, .text(429, "slow down"), .text(502, "gateway")])
        let metrics = MetricsRegistry()
        let exporter = try OTLPHTTPExporter(settings: Self.settings(backend.port), logger: .discarding, metrics: metrics)
        try exporter.export(TelemetryBatch(signal: .traces, payload: Self.spans, itemCount: 1))
        #expect(backend.requests.count == 4)
        let text = metrics.render()
        #expect(text.contains("collectord_otlphttp_retries_total{exporter=\"otlphttp\",signal=\"traces\"} 3"), "\(text)")
        #expect(text.contains("collectord_otlphttp_requests_total{exporter=\"otlphttp\",signal=\"traces\",status=\"503\"} 1"))
        exporter.shutdown()
    }

    /// 400 is permanent: the export throws a permanent error at once, not retried.
    @Test func otherAnswersAreDroppedAtOnce() throws {
        let backend = try Backend([.text(400, "bad data")])
        let exporter = try OTLPHTTPExporter(settings: Self.settings(backend.port), logger: .discarding, metrics: MetricsRegistry())
        do {
            try exporter.export(TelemetryBatch(signal: .traces, payload: Self.spans, itemCount: 1))
            Issue.record("a 400 was not reported")
        } catch {
            #expect(error.retry == .permanent)
            #expect(error.message == "otlphttp: the server refused the export with status 400: bad data")
        }
        #expect(backend.requests.count == 1)
        exporter.shutdown()
    }

    /// A server that is down for longer than max_elapsed_time: a retryable error (the client
    /// retries), never a permanent one.
    @Test func aDeadServerGivesUpRetryablyAfterTheElapsedTime() throws {
        let port = try FreePort.allocate()
        let exporter = try OTLPHTTPExporter(settings: Self.settings(port) { $0.retry.maxElapsedTime = 20_000_000 },
                                            logger: .discarding, metrics: MetricsRegistry())
        do {
            try exporter.export(TelemetryBatch(signal: .traces, payload: Self.spans, itemCount: 1))
            Issue.record("a dead server was not reported")
        } catch {
            #expect(error.retry == .retryable)
            #expect(error.message.hasPrefix("otlphttp: export failed (cannot connect to 127.0.0.1:\(port): Connection refused)"), "\(error.message)")
        }
        exporter.shutdown()
    }

    @Test func partialSuccessIsDeliveredAndCounted() throws {
        let partial = OTLPResponse.encode(.traces, rejected: 3, errorMessage: "3 spans too old")
        let backend = try Backend([HTTPResponse(status: 200, headers: [("Content-Type", "application/x-protobuf")], body: partial)])
        let metrics = MetricsRegistry()
        let exporter = try OTLPHTTPExporter(settings: Self.settings(backend.port), logger: .discarding, metrics: metrics)
        try exporter.export(TelemetryBatch(signal: .traces, payload: Self.spans, itemCount: 1))
        #expect(backend.requests.count == 1)
        #expect(metrics.render().contains("collectord_otlphttp_partially_rejected_items_total{exporter=\"otlphttp\",signal=\"traces\"} 3"))
        #expect(OTLPResponse.partialSuccess(partial)?.message == "3 spans too old")
        #expect(OTLPResponse.partialSuccess([]) == nil)
        exporter.shutdown()
    }

    /// With a disk queue, export returns once the batch is on disk; a server that is down
    /// gets it later, and a restart resends what was not confirmed.
    @Test func theDiskQueueHoldsWhatTheServerDidNotTake() async throws {
        let storage = try TemporaryDirectory(prefix: "otlphttp-queue")
        let port = try FreePort.allocate()
        let settings = Self.settings(port) { $0.queue.storage = storage.url.path }
        do {
            let exporter = try OTLPHTTPExporter(settings: settings, logger: .discarding, metrics: MetricsRegistry())
            try exporter.start()
            for _ in 0..<3 { try exporter.export(TelemetryBatch(signal: .traces, payload: Self.spans, itemCount: 1)) }
            exporter.shutdown()   // the server is down: everything stays on disk
        }
        // The server comes up; a new exporter on the same queue sends the three batches as one
        // request (queued requests merge by concatenation) and empties the queue.
        let backend = try Backend(port: port)
        let metrics = MetricsRegistry()
        let exporter = try OTLPHTTPExporter(settings: settings, logger: .discarding, metrics: metrics)
        try exporter.start()
        for _ in 0..<400 where backend.requests.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(backend.requests.map(\.body) == [Self.spans + Self.spans + Self.spans])
        for _ in 0..<400 where !metrics.render().contains("collectord_exporter_disk_queue_batches{exporter=\"otlphttp\",data_type=\"traces\"} 0") {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(metrics.render().contains("collectord_exporter_disk_queue_batches{exporter=\"otlphttp\",data_type=\"traces\"} 0"))
        exporter.shutdown()
    }
}
