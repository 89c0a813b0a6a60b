import CollectorCore
import Dispatch
import Synchronization
import Testing

/// Emits what it gets at once and passes it unchanged.
final class PassingProcessor: Processor {
    func process(_ batch: TelemetryBatch, now: UInt64, emit: (TelemetryBatch) -> Void) { emit(batch) }
    var nextDeadline: UInt64? { nil }
    func timerFired(now: UInt64, emit: (TelemetryBatch) -> Void) {}
    func flush(emit: (TelemetryBatch) -> Void) {}
    var passesDataUnchanged: Bool { true }
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
    func pipeline(_ processor: any Processor, inline: RecordingExporter, queued: RecordingExporter?,
                  capacity: Int = 4, metrics: MetricsRegistry = MetricsRegistry()) throws -> Pipeline {
        var stages = [
            ExporterStage(name: "inline", signal: .traces, exporter: inline, capacity: capacity, metrics: metrics, logger: .discarding),
        ]
        if let queued {
            stages.append(ExporterStage(name: "queued", signal: .traces, exporter: queued, capacity: capacity, metrics: metrics,
                                        logger: .discarding))
        }
        let p = Pipeline(name: "traces", signal: .traces, processors: [processor], exporters: stages, capacity: capacity,
                         metrics: metrics, logger: .discarding)
        try p.start()
        return p
    }

    func stop(_ p: Pipeline) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in p.shutdown { done.resume() } }
    }

    @Test func inlineExportersReadEachRequestAsItEntersAndOnlyThen() async throws {
        let inline = RecordingExporter(inline: true), queued = RecordingExporter()
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
        let inline = RecordingExporter(inline: true), queued = RecordingExporter()
        let p = try pipeline(HoldingAllProcessor(unchanged: false), inline: inline, queued: queued)
        let outcomes = Outcomes()
        try p.entry.consume(TelemetryBatch(signal: .traces, payload: [7], itemCount: 3, tokens: [outcomes.token(1)]))
        #expect(inline.payloads == [])
        await stop(p)
        #expect(inline.payloads == [[7]])
        #expect(queued.payloads == [[7]])
        #expect(outcomes.result(1) == .some(nil))
    }

    /// A request the pipeline refuses (full, or stopping) is not read: the client's retry
    /// counts once. The refused client hears the error, the accepted ones success.
    @Test func aRefusedRequestIsNotRead() async throws {
        let inline = RecordingExporter(inline: true), queued = RecordingExporter()
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

    /// The client hears back only once the inline exporters have read its request, even when
    /// the queued exporters were done long before.
    @Test func theClientWaitsForTheInlineExporters() async throws {
        let inline = RecordingExporter(blocked: true, inline: true), queued = RecordingExporter()
        let p = try pipeline(PassingProcessor(), inline: inline, queued: queued)
        let outcomes = Outcomes()
        let sent = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            try? p.entry.consume(TelemetryBatch(signal: .traces, payload: [7], itemCount: 1, tokens: [outcomes.token(1)]))
            sent.signal()
        }
        #expect(await waitUntil { queued.payloads == [[7]] && inline.entered.load(ordering: .relaxed) == 1 })
        #expect(outcomes.count == 0, "answered while the inline exporter still reads the request")
        inline.gate.signal()
        #expect(await waitUntil { outcomes.count == 1 })
        #expect(outcomes.result(1) == .some(nil))
        sent.wait()
        await stop(p)
    }

    /// An inline exporter's error reaches the client, as a queued one's would.
    @Test func anInlineExportersErrorReachesTheClient() async throws {
        let inline = RecordingExporter(failWith: .permanent("no room"), inline: true), queued = RecordingExporter()
        let metrics = MetricsRegistry()
        let p = try pipeline(PassingProcessor(), inline: inline, queued: queued, metrics: metrics)
        let outcomes = Outcomes()
        try p.entry.consume(TelemetryBatch(signal: .traces, payload: [7], itemCount: 2, tokens: [outcomes.token(1)]))
        #expect(await waitUntil { outcomes.count == 1 })
        #expect(outcomes.result(1) == .some(.permanent("no room")))
        #expect(metrics.render().contains("otelcol_exporter_send_failed_spans_total{exporter=\"inline\"} 2"))
        await stop(p)
    }

    /// With only inline exporters, the batch is done once the processors let it go.
    @Test func aPipelineOfInlineExportersOnly() async throws {
        let inline = RecordingExporter(inline: true)
        let processor = HoldingAllProcessor(unchanged: true)
        let p = try pipeline(processor, inline: inline, queued: nil)
        let outcomes = Outcomes()
        try p.entry.consume(TelemetryBatch(signal: .traces, payload: [3], itemCount: 1, tokens: [outcomes.token(1)]))
        #expect(inline.payloads == [[3]])
        #expect(outcomes.count == 0, "the processor still holds it")
        await stop(p)
        #expect(inline.payloads == [[3]])
        #expect(outcomes.result(1) == .some(nil))
    }

    /// A shutdown waits for an inline export under way: the exporter is shut down (its final
    /// flush) only after the request was read, so no span lands after the last flush.
    @Test func shutdownWaitsForAnInlineExportUnderWay() async throws {
        let inline = RecordingExporter(blocked: true, inline: true), queued = RecordingExporter()
        let p = try pipeline(PassingProcessor(), inline: inline, queued: queued)
        DispatchQueue.global().async {
            try? p.entry.consume(TelemetryBatch(signal: .traces, payload: [9], itemCount: 1))
        }
        #expect(await waitUntil { inline.entered.load(ordering: .relaxed) == 1 })
        let stopped = Atomic<Bool>(false)
        p.shutdown { stopped.store(true, ordering: .releasing) }
        #expect(await waitUntil { queued.payloads == [[9]] })
        // A broken shutdown would finish at once; this one waits for the gate (bounded look).
        #expect(await !waitUntil(0.3) { stopped.load(ordering: .acquiring) })
        inline.gate.signal()
        #expect(await waitUntil { stopped.load(ordering: .acquiring) })
        #expect(inline.events.withLock { $0 } == ["export", "shutdown"])
    }
}
