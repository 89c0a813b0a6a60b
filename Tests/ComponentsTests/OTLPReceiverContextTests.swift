import CollectorCore
import CollectorTesting
import Dispatch
import Foundation
import OTLPReceiver
import Synchronization
import Testing

/// The OTLP receiver stamps each request's batch with the client's address, covering every
/// resource entry of the request.
@Suite struct OTLPReceiverContextTests {
    final class Capture: Consumer {
        let batches = Mutex<[TelemetryBatch]>([])
        func consume(_ batch: TelemetryBatch) throws(ComponentError) {
            batches.withLock { $0.append(batch) }
            batch.complete()
        }
    }

    @Test func httpRequestsCarryThePeerAddress() async throws {
        let port = try FreePort.allocate()
        var http = OTLPSettings.HTTP()
        http.endpoint = "127.0.0.1:\(port)"
        let receiver = OTLPReceiver(name: "otlp", settings: OTLPSettings(http: http), metrics: MetricsRegistry(), logger: .discarding)
        let capture = Capture()
        receiver.setConsumer(capture, for: .traces)
        try receiver.start()
        defer { receiver.shutdown(deadline: .now() + 1) {} }
        let body = OTLPBuild.traces([
            TestResource(service: "a", items: [TestSpan(traceID: traceID(1), spanID: spanID(1), name: "x", start: 1, end: 2)]),
            TestResource(service: "b", items: [TestSpan(traceID: traceID(2), spanID: spanID(2), name: "y", start: 1, end: 2)]),
        ])
        let response = try await SimpleHTTP.post(port: port, path: "/v1/traces", body: Data(body))
        #expect(response.status == 200)
        let batches = capture.batches.withLock { $0 }
        #expect(batches.count == 1)
        let origins = try #require(batches.first?.origins)
        #expect(origins.count == 1 && origins[0].resources == 2)
        #expect(origins[0].context.peerIP == "127.0.0.1")
        #expect(origins[0].context.peerAddress?.hasPrefix("127.0.0.1:") == true)
        #expect(origins[0].context.filePath == nil)
    }

    /// An exporter that refuses (a store on a full disk answers through the acknowledgement):
    /// the client gets a retryable error and the spans count as refused (they were accepted
    /// into the pipeline first, and count there too).
    final class Refusing: Consumer {
        func consume(_ batch: TelemetryBatch) throws(ComponentError) {
            batch.complete(.retryable("store: No space left on device"))
        }
    }

    @Test func spansAnExporterRefusedAreCountedRefused() async throws {
        let port = try FreePort.allocate()
        var http = OTLPSettings.HTTP()
        http.endpoint = "127.0.0.1:\(port)"
        let metrics = MetricsRegistry()
        let receiver = OTLPReceiver(name: "otlp", settings: OTLPSettings(http: http), metrics: metrics, logger: .discarding)
        let refusing = Refusing()
        receiver.setConsumer(refusing, for: .traces)
        try receiver.start()
        defer { receiver.shutdown(deadline: .now() + 1) {} }
        let body = OTLPBuild.traces([TestResource(service: "a", items: [
            TestSpan(traceID: traceID(1), spanID: spanID(1), name: "x", start: 1, end: 2),
            TestSpan(traceID: traceID(1), spanID: spanID(2), name: "y", start: 1, end: 2)])])
        let response = try await SimpleHTTP.post(port: port, path: "/v1/traces", body: Data(body))
        #expect(response.status == 503)
        let text = metrics.render()
        #expect(text.contains("otelcol_receiver_refused_spans_total{receiver=\"otlp\",transport=\"http\"} 2"), "\(text)")
        #expect(text.contains("otelcol_receiver_accepted_spans_total{receiver=\"otlp\",transport=\"http\"} 2"), "\(text)")
    }

    /// Decoding amplification: 4 MB of empty spans (2 bytes each on the wire) would take about
    /// 45 times their size to process, so the request is refused as too large, before the
    /// pipeline, with the sizes named; a request of ordinary spans goes through.
    @Test func aRequestThatWouldDecodeFarLargerIsRefused() async throws {
        let port = try FreePort.allocate()
        var http = OTLPSettings.HTTP()
        http.endpoint = "127.0.0.1:\(port)"
        let metrics = MetricsRegistry()
        let receiver = OTLPReceiver(name: "otlp", settings: OTLPSettings(http: http), metrics: metrics, logger: .discarding)
        let capture = Capture()
        receiver.setConsumer(capture, for: .traces)
        try receiver.start()
        defer { receiver.shutdown(deadline: .now() + 1) {} }
        let spans = 2_000_000
        var scope: [UInt8] = []
        for _ in 0..<spans { scope += [0x12, 0x00] }           // ScopeSpans.spans: empty Span
        let body = lengthDelimited(0x0A, lengthDelimited(0x12, scope))  // request.resource_spans.scope_spans
        let response = try await SimpleHTTP.post(port: port, path: "/v1/traces", body: Data(body))
        #expect(response.status == 413)
        let expected = "request of \(body.count) bytes holds 2000000 spans: processing it would take about "
            + "\(body.count + spans * 96) bytes, more than the 67108864 one request may take"
        #expect(String(decoding: response.body, as: UTF8.self).contains(expected))
        #expect(capture.batches.withLock { $0.count } == 0)
        #expect(metrics.render().contains("collectord_receiver_rejected_requests_total{receiver=\"otlp\",transport=\"http\",code=\"413\"} 1"))
    }

    private func lengthDelimited(_ key: UInt8, _ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [key]
        var length = UInt64(payload.count)
        while length >= 0x80 {
            out.append(UInt8(length & 0x7F) | 0x80)
            length >>= 7
        }
        out.append(UInt8(length))
        return out + payload
    }
}
