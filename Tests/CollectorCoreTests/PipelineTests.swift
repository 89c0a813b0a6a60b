import CollectorCore
import Dispatch
import Synchronization
import Testing

/// An exporter that records payloads and can be held shut to simulate a slow destination, or
/// fail. `inline`: an in-memory aggregation, as the spanmetrics connector is (the pipeline may
/// call it as requests enter). Logs its exports and shutdown in order (`events`).
final class RecordingExporter: Exporter {
    let exported = Mutex<[[UInt8]]>([])
    let events = Mutex<[String]>([])
    let gate = DispatchSemaphore(value: 0)
    let blocked: Bool
    let failWith: ComponentError?
    let inline: Bool
    let entered = Atomic<Int>(0)
    let shutdowns = Atomic<Int>(0)

    init(blocked: Bool = false, failWith: ComponentError? = nil, inline: Bool = false) {
        self.blocked = blocked
        self.failWith = failWith
        self.inline = inline
    }

    func start() throws {}
    func export(_ batch: TelemetryBatch) throws(ComponentError) {
        entered.add(1, ordering: .relaxed)
        if blocked { gate.wait() }
        if let failWith { throw failWith }
        exported.withLock { $0.append(batch.payload) }
        events.withLock { $0.append("export") }
    }
    func shutdown() {
        shutdowns.add(1, ordering: .relaxed)
        events.withLock { $0.append("shutdown") }
    }
    var exportsConcurrently: Bool { inline }
    var readsParts: Bool { inline }
    var exportsInline: Bool { inline }
    var payloads: [[UInt8]] { exported.withLock { $0 } }
}

final class Outcomes: Sendable {
    let results = Mutex<[Int: ComponentError?]>([:])
    func token(_ id: Int) -> AckToken {
        AckToken { r in self.results.withLock { $0[id] = .some(r) } }
    }
    var count: Int { results.withLock { $0.count } }
    func result(_ id: Int) -> ComponentError?? { results.withLock { $0[id] } }
}

func waitUntil(_ timeout: Double = 5, _ condition: () -> Bool) async -> Bool {
    let end = DispatchTime.now().uptimeNanoseconds + UInt64(timeout * 1e9)
    while DispatchTime.now().uptimeNanoseconds < end {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}

@Suite struct PipelineTests {
    func pipeline(_ exporters: [RecordingExporter], capacity: Int = 4, metrics: MetricsRegistry = MetricsRegistry()) throws -> Pipeline {
        let stages = exporters.enumerated().map { i, e in
            ExporterStage(name: "rec/\(i)", signal: .traces, exporter: e, capacity: capacity, metrics: metrics, logger: .discarding)
        }
        let p = Pipeline(name: "traces", signal: .traces, processors: [], exporters: stages, capacity: capacity,
                         metrics: metrics, logger: .discarding)
        try p.start()
        return p
    }

    @Test func fanOutAcknowledgesAfterEveryExporter() async throws {
        let a = RecordingExporter(), b = RecordingExporter()
        let metrics = MetricsRegistry()
        let p = try pipeline([a, b], metrics: metrics)
        let outcomes = Outcomes()
        try p.entry.consume(TelemetryBatch(signal: .traces, payload: [7], itemCount: 3, tokens: [outcomes.token(1)]))
        #expect(await waitUntil { outcomes.count == 1 })
        #expect(outcomes.result(1) == .some(nil))
        #expect(a.payloads == [[7]])
        #expect(b.payloads == [[7]])
        let text = metrics.render()
        #expect(text.contains("otelcol_exporter_sent_spans_total{exporter=\"rec/0\"} 3"))
        #expect(text.contains("otelcol_exporter_sent_spans_total{exporter=\"rec/1\"} 3"))
    }

    @Test func exporterFailureReachesTheClient() async throws {
        let ok = RecordingExporter(), bad = RecordingExporter(failWith: .permanent("rejected"))
        let metrics = MetricsRegistry()
        let p = try pipeline([ok, bad], metrics: metrics)
        let outcomes = Outcomes()
        try p.entry.consume(TelemetryBatch(signal: .traces, payload: [1], itemCount: 2, tokens: [outcomes.token(1)]))
        #expect(await waitUntil { outcomes.count == 1 })
        #expect(outcomes.result(1) == .some(.permanent("rejected")))
        #expect(metrics.render().contains("otelcol_exporter_send_failed_spans_total{exporter=\"rec/1\"} 2"))
    }

    /// A stuck exporter fills its ring, then the pipeline holds its output and stops draining its
    /// input, then the input ring refuses: backpressure reaches the receiver without any drop.
    @Test func backpressureThenRecoveryLosesNothing() async throws {
        let slow = RecordingExporter(blocked: true)
        let p = try pipeline([slow], capacity: 2)
        let outcomes = Outcomes()
        var accepted = 0
        var refusedError: ComponentError?
        for i in 0..<50 {
            do {
                try p.entry.consume(TelemetryBatch(signal: .traces, payload: [UInt8(i)], itemCount: 1, tokens: [outcomes.token(i)]))
                accepted += 1
            } catch {
                refusedError = error
                break
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        // exporter ring (2) + one held in fan-out + input ring (2) + one being exported
        #expect(accepted >= 4 && accepted <= 6, "accepted \(accepted)")
        #expect(refusedError?.isRetryable == true)
        for _ in 0..<accepted { slow.gate.signal() }
        #expect(await waitUntil { outcomes.count == accepted })
        #expect(slow.payloads == (0..<accepted).map { [UInt8($0)] })
    }

    @Test func shutdownFlushesEverythingAcceptedThenRefuses() async throws {
        let e = RecordingExporter()
        let p = try pipeline([e], capacity: 64)
        let outcomes = Outcomes()
        for i in 0..<20 {
            try p.entry.consume(TelemetryBatch(signal: .traces, payload: [UInt8(i)], itemCount: 1, tokens: [outcomes.token(i)]))
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in p.shutdown { c.resume() } }
        #expect(outcomes.count == 20)
        #expect(e.payloads.count == 20)
        #expect(e.shutdowns.load(ordering: .relaxed) == 1)
        #expect(throws: ComponentError.self) {
            try p.entry.consume(TelemetryBatch(signal: .traces, payload: [0], itemCount: 1))
        }
    }

    @Test func fanOutConsumerReportsRefusalsToTheToken() throws {
        struct Refusing: Consumer {
            func consume(_ batch: TelemetryBatch) throws(ComponentError) { throw .retryable("full") }
        }
        struct Taking: Consumer {
            func consume(_ batch: TelemetryBatch) throws(ComponentError) { batch.complete() }
        }
        let outcomes = Outcomes()
        try FanOutConsumer([Taking(), Refusing()]).consume(
            TelemetryBatch(signal: .logs, payload: [], itemCount: 1, tokens: [outcomes.token(1)]))
        #expect(outcomes.result(1) == .some(.retryable("full")))
        #expect(throws: ComponentError.retryable("full")) {
            try FanOutConsumer([Refusing(), Refusing()]).consume(TelemetryBatch(signal: .logs, payload: [], itemCount: 1))
        }
    }
}

/// An exporter that records what it got, parts and all, and says whether it reads parts.
final class PartsRecordingExporter: Exporter {
    let readsParts: Bool
    let got = Mutex<[(payload: [UInt8], parts: [[UInt8]])]>([])
    init(readsParts: Bool) { self.readsParts = readsParts }
    func start() throws {}
    func export(_ batch: TelemetryBatch) throws(ComponentError) {
        got.withLock { $0.append((batch.payload, batch.parts)) }
    }
    func shutdown() {}
}

/// Emits each batch it gets as a batch with parts (as the `batch` processor does with large
/// requests), and records what it was given.
final class PartsEmittingProcessor: Processor {
    var given: [(payload: [UInt8], parts: [[UInt8]])] = []
    func process(_ batch: TelemetryBatch, now: UInt64, emit: (TelemetryBatch) -> Void) {
        given.append((batch.payload, batch.parts))
        var out = TelemetryBatch(signal: batch.signal, payload: batch.payload, itemCount: batch.itemCount, tokens: batch.tokens)
        out.append(TelemetryBatch(signal: batch.signal, payload: [UInt8](repeating: 0xEE, count: 8), itemCount: 1),
                   keepingPartsFrom: 1)
        emit(out)
    }
    var nextDeadline: UInt64? { nil }
    func timerFired(now: UInt64, emit: (TelemetryBatch) -> Void) {}
    func flush(emit: (TelemetryBatch) -> Void) {}
    func shutdown() {}
}

/// A batch merged by reference reaches processors and exporters whole unless every exporter
/// reads parts.
@Suite struct PipelinePartsTests {
    func run(processors: [any Processor], exporters: [PartsRecordingExporter]) async throws {
        let metrics = MetricsRegistry()
        let stages = exporters.enumerated().map { i, e in
            ExporterStage(name: "parts/\(i)", signal: .traces, exporter: e, capacity: 4, metrics: metrics, logger: .discarding)
        }
        let p = Pipeline(name: "traces", signal: .traces, processors: processors, exporters: stages, capacity: 4,
                         metrics: metrics, logger: .discarding)
        try p.start()
        let outcomes = Outcomes()
        try p.entry.consume(TelemetryBatch(signal: .traces, payload: [1, 2, 3], itemCount: 1, tokens: [outcomes.token(1)]))
        #expect(await waitUntil { outcomes.count == 1 })
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in p.shutdown { done.resume() } }
    }

    @Test func exportersThatReadPartsGetThemAsTheyAre() async throws {
        let reader = PartsRecordingExporter(readsParts: true)
        try await run(processors: [PartsEmittingProcessor()], exporters: [reader])
        let got = reader.got.withLock { $0 }
        #expect(got.count == 1)
        #expect(got.first?.payload == [1, 2, 3])
        #expect(got.first?.parts == [[UInt8](repeating: 0xEE, count: 8)])
    }

    @Test func otherExportersAndLaterProcessorsGetTheBatchJoined() async throws {
        let reader = PartsRecordingExporter(readsParts: true)
        let plain = PartsRecordingExporter(readsParts: false)
        let second = PartsEmittingProcessor()
        try await run(processors: [PartsEmittingProcessor(), second], exporters: [reader, plain])
        let whole = [1, 2, 3] + [UInt8](repeating: 0xEE, count: 8)
        #expect(second.given.count == 1)
        #expect(second.given.first?.payload == whole)
        #expect(second.given.first?.parts == [])
        for exporter in [reader, plain] {
            let got = exporter.got.withLock { $0 }
            #expect(got.count == 1)
            #expect(got.first?.payload == whole + [UInt8](repeating: 0xEE, count: 8), "one join for both")
            #expect(got.first?.parts == [])
        }
    }
}
