import CollectorCore
@testable import DebugExporter
import Synchronization
import Testing

@Suite struct DebugExporterTests {
    @Test func samplingKeepsInitialThenEveryNth() {
        let clock = ManualClock()
        var s = DebugSampler(initial: 2, thereafter: 3, clock: clock)
        let first = (0..<8).map { _ in s.admit() }
        #expect(first == [true, true, false, false, true, false, false, true])
        clock.advance(by: 1_000_000_000)
        #expect(s.admit() == true, "a new second starts a new window")
    }

    @Test func defaultsPrintEverything() {
        var s = DebugSampler(initial: 2, thereafter: 1, clock: ManualClock())
        #expect((0..<10).allSatisfy { _ in s.admit() })
    }

    @Test func malformedBatchIsAPermanentError() {
        let written = Mutex<[String]>([])
        let e = DebugExporter(settings: DebugSettings()) { text in written.withLock { $0.append(text) } }
        #expect(throws: ComponentError.self) {
            try e.export(TelemetryBatch(signal: .traces, payload: [0xff, 0xff, 0xff], itemCount: 1))
        }
        #expect(written.withLock { $0 }.isEmpty)
    }

    @Test func basicPrintsOneLinePerBatch() throws {
        let written = Mutex<[String]>([])
        let e = DebugExporter(settings: DebugSettings()) { text in written.withLock { $0.append(text) } }
        let request = Self.request(spans: 2)
        try e.export(TelemetryBatch(signal: .traces, payload: request, itemCount: 2))
        #expect(written.withLock { $0 } == ["Traces: 1 resource spans, 1 scope spans, 2 spans\n"])
    }

    /// Hand-encoded: ExportTraceServiceRequest{resource_spans: [{scope_spans: [{spans: [n x Span{name: "s"}]}]}]}.
    static func request(spans: Int) -> [UInt8] {
        let oneSpan: [UInt8] = [0x12, 0x03, 0x2a, 0x01, 0x73]   // ScopeSpans.spans(2) { Span.name(5) = "s" }
        var scope: [UInt8] = []
        for _ in 0..<spans { scope += oneSpan }
        let resourceSpans: [UInt8] = [0x12, UInt8(scope.count)] + scope   // ResourceSpans.scope_spans(2)
        return [0x0a, UInt8(resourceSpans.count)] + resourceSpans          // request.resource_spans(1)
    }
}
