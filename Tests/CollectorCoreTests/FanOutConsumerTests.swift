import CollectorCore
import Synchronization
import Testing

/// A consumer that refuses (or takes and completes) every batch.
private struct StubConsumer: Consumer {
    let refusal: ComponentError?
    func consume(_ batch: TelemetryBatch) throws(ComponentError) {
        if let refusal { throw refusal }
        batch.complete()
    }
}

@Suite struct FanOutConsumerTests {
    /// The caller keeps its reference when every consumer refused (the `Consumer` contract);
    /// releasing it must answer the client, so no extra reference may be left behind.
    @Test(arguments: [2, 3, 5])
    func everyConsumerRefusingLeavesExactlyTheCallersReference(consumers: Int) {
        let outcomes = Outcomes()
        let token = outcomes.token(1)
        let batch = TelemetryBatch(signal: .traces, payload: [1], itemCount: 1, tokens: [token])
        let fanOut = FanOutConsumer((0..<consumers).map { StubConsumer(refusal: .retryable("full \($0)")) })
        var thrown: ComponentError?
        do { try fanOut.consume(batch) } catch { thrown = error }
        #expect(thrown == .retryable("full \(consumers - 1)"))
        #expect(outcomes.count == 0)   // not answered before the caller lets go
        batch.complete(thrown)
        #expect(outcomes.result(1) == .some(.retryable("full 0")))
    }

    @Test func oneRefusalAnswersTheClientWithItsError() {
        let outcomes = Outcomes()
        let batch = TelemetryBatch(signal: .traces, payload: [1], itemCount: 1, tokens: [outcomes.token(7)])
        let fanOut = FanOutConsumer([StubConsumer(refusal: nil), StubConsumer(refusal: .permanent("bad")),
                                     StubConsumer(refusal: nil)])
        #expect(throws: Never.self) { try fanOut.consume(batch) }
        #expect(outcomes.result(7) == .some(.permanent("bad")))
    }
}
