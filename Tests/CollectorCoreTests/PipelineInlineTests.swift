import CollectorCore
import Dispatch
import Synchronization
import Testing

/// An in-memory aggregation, as the spanmetrics connector is: the pipeline may call it inline.
final class InlineExporter: Exporter {
    let exported = Mutex<[[UInt8]]>([])
    func start() throws {}
    func export(_ batch: TelemetryBatch) throws(ComponentError) {
        exported.withLock { $0.append(batch.payload) }
    }
    func shutdown() {}
    var exportsConcurrently: Bool { true }
    var readsParts: Bool { true }
    var exportsInline: Bool { true }
    var payloads: [[UInt8]] { exported.withLock { $0 } }
}

/// Holds every batch until flushed (as `batch` does before its timeout); says whether it passes
/// data unchanged. Can be made to wait in `process` until `gate` is signalled.
final class HoldingAllProcessor: Processor, @unchecked Sendable {
    // @unchecked Sendable: `held` is only touched by the pipeline's queue; the rest is
    // immutable or a synchronization primitive.
    let passesDataUnchanged: Bool
    let waits: Bool
    let gate = DispatchSemaphore(value: 0)
    let entered = Atomic<Int>(0)
    private var held: [TelemetryBatch] = []
    init(unchanged: Bool, waits: Bool = false) {
        passesDataUnchanged = unchanged
        self.waits = waits
    }
    func process(_ batch: TelemetryBatch, now: UInt64, emit: (TelemetryBatch) -> Void) {
        entered.add(1, ordering: .relaxed)
        if waits { gate.wait() }
        held.append(batch)
    }
    var nextDeadline: UInt64? { nil }
    func timerFired(now: UInt64, emit: (TelemetryBatch) -> Void) {}
    func flush(emit: (TelemetryBatch) -> Void) {
        held.forEach(emit)
        held = []
    }
}

/// Inline exporters of a pipeline that only regroups data read each request as it enters, on
/// the receiver's thread, once; everywhere else they stay behind their queue.
@Suite struct PipelineInlineTests {
    func pipeline(_ processor: HoldingAllProcessor, inline: InlineExporter, queued: RecordingExporter,
                  capacity: Int = 4, metrics: MetricsRegistry = MetricsRegistry()) throws -> Pipeline {
        let stages = [
            ExporterStage(name: "inline", signal: .traces, exporter: inline, capacity: capacity, metrics: metrics, logger: .discarding),
            ExporterStage(name: "queued", signal: .traces, exporter: queued, capacity: capacity, metrics: metrics, logger: .discarding),
        ]
        let p = Pipeline(name: "traces", signal: .traces, processors: [processor], exporters: stages, capacity: capacity,
                         metrics: metrics, logger: .discarding)
        try p.start()
        return p
    }

    func stop(_ p: Pipeline) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in p.shutdown { done.resume() } }
    }

    @Test func inlineExportersReadEachRequestAsItEntersAndOnlyThen() async throws {
        let inline = InlineExporter(), queued = RecordingExporter()
        let metrics = MetricsRegistry()
        let p = try pipeline(HoldingAllProcessor(unchanged: true), inline: inline, queued: queued, metrics: metrics)
        let outcomes = Outcomes()
        try p.entry.consume(TelemetryBatch(signal: .traces, payload: [7], itemCount: 3, tokens: [outcomes.token(1)]))
        // Read before `consume` returned, while the processor still holds the batch.
        #expect(inline.payloads == [[7]])
        #expect(queued.payloads == [])
        #expect(outcomes.count == 0, "the client waits for the queued exporter")
        await stop(p)
        #expect(queued.payloads == [[7]])
        #expect(inline.payloads == [[7]], "the fan-out did not hand it over a second time")
        #expect(outcomes.result(1) == .some(nil))
        let text = metrics.render()
        #expect(text.contains("otelcol_exporter_sent_spans_total{exporter=\"inline\"} 3"))
        #expect(text.contains("otelcol_exporter_sent_spans_total{exporter=\"queued\"} 3"))
    }

    /// Behind a processor that may change or drop data, an inline exporter gets what comes out
    /// of it, through its queue, once.
    @Test func aProcessorThatMayChangeDataKeepsThemBehindIt() async throws {
        let inline = InlineExporter(), queued = RecordingExporter()
        let p = try pipeline(HoldingAllProcessor(unchanged: false), inline: inline, queued: queued)
        let outcomes = Outcomes()
        try p.entry.consume(TelemetryBatch(signal: .traces, payload: [7], itemCount: 3, tokens: [outcomes.token(1)]))
        #expect(inline.payloads == [])
        await stop(p)
        #expect(inline.payloads == [[7]])
        #expect(queued.payloads == [[7]])
        #expect(outcomes.result(1) == .some(nil))
    }

    /// A flag left by another pipeline (a batch forwarded by a connector) does not keep this
    /// pipeline's inline exporters from their data.
    @Test func eachPipelineDecidesForItself() async throws {
        let inline = InlineExporter(), queued = RecordingExporter()
        let p = try pipeline(HoldingAllProcessor(unchanged: false), inline: inline, queued: queued)
        var batch = TelemetryBatch(signal: .traces, payload: [5], itemCount: 1)
        batch.fedInline = true
        try p.entry.consume(batch)
        await stop(p)
        #expect(inline.payloads == [[5]])
    }

    /// A request the pipeline refuses (full, or stopping) is not read: the client's retry
    /// counts once. The refused client hears the error, the accepted ones success.
    @Test func aRefusedRequestIsNotRead() async throws {
        let inline = InlineExporter(), queued = RecordingExporter()
        let processor = HoldingAllProcessor(unchanged: true, waits: true)
        let p = try pipeline(processor, inline: inline, queued: queued, capacity: 2)
        let outcomes = Outcomes()
        func send(_ id: Int) throws(ComponentError) {
            let batch = TelemetryBatch(signal: .traces, payload: [UInt8(id)], itemCount: 1, tokens: [outcomes.token(id)])
            do {
                try p.entry.consume(batch)
            } catch {
                batch.complete(error)   // the receiver's part: it still owns its reference
                throw error
            }
        }
        try send(1)
        #expect(await waitUntil { processor.entered.load(ordering: .relaxed) == 1 })   // the drain waits in it
        try send(2)   // the input ring's two slots
        try send(3)
        #expect(throws: ComponentError.self) { try send(4) }
        #expect(inline.payloads == [[1], [2], [3]])
        #expect(outcomes.result(4) == .some(.retryable("pipeline traces is full (2 batches queued); retry later")))
        for _ in 1...3 { processor.gate.signal() }
        await stop(p)
        #expect(throws: ComponentError.self) { try send(5) }
        #expect(inline.payloads == [[1], [2], [3]])
        #expect(queued.payloads == [[1], [2], [3]])
        for id in 1...3 { #expect(outcomes.result(id) == .some(nil)) }
        #expect(outcomes.result(5) == .some(.retryable("pipeline traces is shutting down")))
    }
}
