import CollectorCore
import Testing

@Suite struct RequestContextTests {
    @Test func peerIPDropsThePort() {
        #expect(RequestContext(peerAddress: "127.0.0.7:51234").peerIP == "127.0.0.7")
        #expect(RequestContext(peerAddress: "[fd00::7]:4317").peerIP == "fd00::7")
        #expect(RequestContext(peerAddress: "10.1.2.3").peerIP == "10.1.2.3")
        #expect(RequestContext(peerAddress: "fd00::7").peerIP == "fd00::7")
        #expect(RequestContext(peerAddress: "").peerIP == nil)
        #expect(RequestContext(filePath: "/var/log/pods/x").peerIP == nil)
    }

    @Test func mergedBatchesKeepEachResourcesOrigin() {
        let a = RequestContext(peerAddress: "10.0.0.1:1"), b = RequestContext(peerAddress: "10.0.0.2:2")
        var batch = TelemetryBatch(signal: .traces, payload: [1], itemCount: 1, origins: [BatchOrigin(resources: 2, context: a)])
        batch.append(TelemetryBatch(signal: .traces, payload: [2], itemCount: 1, origins: [BatchOrigin(resources: 1, context: b)]))
        batch.append(TelemetryBatch(signal: .traces, payload: [3], itemCount: 1, origins: [BatchOrigin(resources: 1, context: b)]))
        #expect(batch.origins == [BatchOrigin(resources: 2, context: a), BatchOrigin(resources: 2, context: b)])
        #expect((0..<5).map { batch.origins.context(ofResource: $0)?.peerAddress } == ["10.0.0.1:1", "10.0.0.1:1", "10.0.0.2:2", "10.0.0.2:2", nil])
        #expect(batch.origins.resourceCount == 4)
        // A batch of unknown origin makes the whole merge unknown rather than misattributed.
        batch.append(TelemetryBatch(signal: .traces, payload: [4], itemCount: 1))
        #expect(batch.origins.isEmpty)
    }

    @Test func remappingFollowsKeptAndSplitResources() {
        let a = RequestContext(filePath: "/a"), b = RequestContext(filePath: "/b")
        let origins = [BatchOrigin(resources: 1, context: a), BatchOrigin(resources: 2, context: b)]
        #expect(origins.remapped(keeping: [0, 2]) == [BatchOrigin(resources: 1, context: a), BatchOrigin(resources: 1, context: b)])
        #expect(origins.remapped(keeping: [0, 0, 1]) == [BatchOrigin(resources: 2, context: a), BatchOrigin(resources: 1, context: b)])
        #expect(origins.remapped(keeping: [3]).isEmpty, "out of range: unknown")
        #expect([BatchOrigin]().remapped(keeping: [0]).isEmpty)
    }
}
