import CollectorCore
import Synchronization
import Testing

@Suite struct AckTokenTests {
    final class Box: Sendable {
        let calls = Mutex<[ComponentError?]>([])
    }

    @Test func completesOnceAfterLastRelease() {
        let box = Box()
        let token = AckToken { r in box.calls.withLock { $0.append(r) } }
        token.retain(2)
        token.release()
        token.release()
        #expect(box.calls.withLock { $0.count } == 0)
        token.release()
        #expect(box.calls.withLock { $0 } == [nil])
    }

    @Test func permanentErrorWinsOverRetryable() {
        let box = Box()
        let token = AckToken { r in box.calls.withLock { $0.append(r) } }
        token.retain(2)
        token.release(.retryable("full"))
        token.release(.permanent("rejected"))
        token.release()
        #expect(box.calls.withLock { $0 } == [.permanent("rejected")])
    }

    @Test func batchesCarryAndMergeTokens() {
        let box = Box()
        let a = AckToken { r in box.calls.withLock { $0.append(r) } }
        let b = AckToken { r in box.calls.withLock { $0.append(r) } }
        var batch = TelemetryBatch(signal: .traces, payload: [1, 2], itemCount: 2, tokens: [a])
        batch.append(TelemetryBatch(signal: .traces, payload: [3], itemCount: 1, tokens: [b]))
        #expect(batch.payload == [1, 2, 3])
        #expect(batch.itemCount == 3)
        batch.retainTokens(copies: 1)
        batch.complete()
        #expect(box.calls.withLock { $0.count } == 0)
        batch.complete(.retryable("x"))
        #expect(box.calls.withLock { $0 } == [.retryable("x"), .retryable("x")])
    }
}
