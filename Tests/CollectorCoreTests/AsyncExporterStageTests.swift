@testable import CollectorCore
import CollectorTesting
import Dispatch
import Synchronization
import Testing

/// The exporter stage with an `AsyncExporter`: up to `maxInFlight` batches out at once, each
/// batch's client answered when its own delivery calls back (in any order), and `finish`
/// waiting for the deliveries still out before the exporter shuts down.
@Suite struct AsyncExporterStageTests {
    final class Held: AsyncExporter, @unchecked Sendable {
        // @unchecked Sendable: `pending` and `shutDown` are behind the Mutex.
        let state = Mutex<(pending: [(Int, @Sendable (ComponentError?) -> Void)], shutDown: Bool)>(([], false))
        var maxInFlight: Int { 2 }
        func start() throws {}
        func export(_ batch: TelemetryBatch) throws(ComponentError) { Issue.record("the synchronous export was used") }
        func export(_ batch: TelemetryBatch, completion: @escaping @Sendable (ComponentError?) -> Void) {
            state.withLock { $0.pending.append((batch.itemCount, completion)) }
        }
        func shutdown() { state.withLock { $0.shutDown = true } }
        var out: [Int] { state.withLock { $0.pending.map(\.0) } }
        func answer(_ items: Int, _ error: ComponentError? = nil) {
            let callback = state.withLock { s -> (@Sendable (ComponentError?) -> Void)? in
                guard let i = s.pending.firstIndex(where: { $0.0 == items }) else { return nil }
                return s.pending.remove(at: i).1
            }
            callback?(error)
        }
    }

    @Test func batchesGoOutTwoAtATimeAndAreAnsweredEachByItsOwnDelivery() async throws {
        let exporter = Held()
        let metrics = MetricsRegistry()
        let stage = ExporterStage(name: "held", signal: .traces, exporter: exporter, capacity: 8, metrics: metrics, logger: .discarding)
        let answers = Mutex<[Int: ComponentError?]>([:])
        for items in 1...4 {
            let token = AckToken { error in answers.withLock { $0[items] = .some(error) } }
            #expect(stage.offer(TelemetryBatch(signal: .traces, payload: [0x0A, 0x00], itemCount: items, tokens: [token])))
        }
        try await waitUntil("two batches out") { exporter.out == [1, 2] }
        exporter.answer(2)
        try await waitUntil("the third goes out when the second is answered") { exporter.out == [1, 3] }
        #expect(answers.withLock { $0.keys.sorted() } == [2], "the second answered first")
        exporter.answer(1, .retryable("gateway down"))
        try await waitUntil("the fourth goes out") { exporter.out == [3, 4] }
        let finished = Mutex(false)
        stage.finish { finished.withLock { $0 = true } }
        try await Task.sleep(for: .milliseconds(50))
        #expect(!finished.withLock { $0 } && !exporter.state.withLock { $0.shutDown }, "finish waits for the batches out")
        exporter.answer(3)
        exporter.answer(4)
        try await waitUntil("finished") { finished.withLock { $0 } }
        #expect(exporter.state.withLock { $0.shutDown })
        #expect(answers.withLock { $0.keys.sorted() } == [1, 2, 3, 4])
        #expect(answers.withLock { $0[1]!! } == .retryable("gateway down"))
        let text = metrics.render()
        #expect(text.contains("otelcol_exporter_sent_spans_total{exporter=\"held\"} 9"), "\(text)")
        #expect(text.contains("otelcol_exporter_send_failed_spans_total{exporter=\"held\"} 1"))
    }
}
