import CollectorCore
import Dispatch
@testable import ForwardConnector
import Synchronization
import Testing

/// An exporter that holds every export until `open` is signalled, then records it.
private final class GatedExporter: Exporter {
    let gate = DispatchSemaphore(value: 0)
    let exported = Mutex<[[UInt8]]>([])
    let entered = Atomic<Int>(0)
    func start() throws {}
    func export(_ batch: TelemetryBatch) throws(ComponentError) {
        entered.add(1, ordering: .relaxed)
        gate.wait()
        exported.withLock { $0.append(batch.payload) }
    }
    func shutdown() {}
}

private func settle(_ condition: () -> Bool) async -> Bool {
    for _ in 0..<1000 {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}

@Suite struct ForwardConnectorTests {
    private func pipeline(_ name: String, _ exporter: any Exporter, capacity: Int = 4) throws -> Pipeline {
        let metrics = MetricsRegistry()
        let stage = ExporterStage(name: name, signal: .traces, exporter: exporter, capacity: capacity, metrics: metrics, logger: .discarding)
        let p = Pipeline(name: name, signal: .traces, processors: [], exporters: [stage], capacity: capacity,
                         metrics: metrics, logger: .discarding)
        try p.start()
        return p
    }

    @Test func theClientHearsOnlyOnceTheDownstreamExporterTookTheData() async throws {
        let sink = GatedExporter()
        let downstream = try pipeline("out", sink)
        let upstream = try pipeline("in", ForwardConnector(next: downstream.entry))
        let answered = Mutex<[ComponentError?]>([])
        let token = AckToken { error in answered.withLock { $0.append(error) } }
        try upstream.entry.consume(TelemetryBatch(signal: .traces, payload: [1, 2], itemCount: 2, tokens: [token]))
        // Through the connector and held at the downstream exporter: not answered yet.
        #expect(await settle { sink.entered.load(ordering: .relaxed) == 1 })
        #expect(answered.withLock { $0.isEmpty })
        sink.gate.signal()
        #expect(await settle { answered.withLock { $0.count } == 1 })
        #expect(answered.withLock { $0 } == [nil])
        #expect(sink.exported.withLock { $0 } == [[1, 2]])
    }

    @Test func aRefusingDownstreamFailsTheExportWithItsError() throws {
        let refusing = RefusingConsumer()
        let connector = ForwardConnector(next: refusing)
        let answered = Mutex<[ComponentError?]>([])
        let token = AckToken { error in answered.withLock { $0.append(error) } }
        let batch = TelemetryBatch(signal: .traces, payload: [1], itemCount: 1, tokens: [token])
        #expect(throws: ComponentError.retryable("pipeline out is full")) { try connector.export(batch) }
        // The reference the connector added is given back; the stage's own is still held.
        #expect(answered.withLock { $0.isEmpty })
        batch.complete(.retryable("pipeline out is full"))
        #expect(answered.withLock { $0 } == [.retryable("pipeline out is full")])
    }
}

private struct RefusingConsumer: Consumer {
    func consume(_ batch: TelemetryBatch) throws(ComponentError) { throw .retryable("pipeline out is full") }
}
