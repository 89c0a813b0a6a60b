import CollectorTesting
import OTLPCodec
import Store
import Testing

@Suite struct RoundTripTests {
    /// Two traces across two services in one batch, logs in another: each trace comes back
    /// exactly (byte for byte what the reference encoder writes for its spans alone).
    @Test func tracesAndLogsComeBackExactly() throws {
        let dir = TempDirectory()
        let store = try TraceStore(config: testConfig(dir.path))
        let frontend = traceSpans(1, count: 2, service: "frontend") + traceSpans(2, count: 1, service: "frontend")
        let backend = traceSpans(1, count: 1, service: "backend", firstSpan: 5)
        try store.append(kind: .spans, payload: OTLPBuild.traces([
            TestResource(service: "frontend", items: frontend),
            TestResource(service: "backend", scope: "db", items: backend),
        ]), itemCount: 4)
        let logs = [
            TestLog(time: 1_001, traceID: traceID(1), spanID: spanID(1000), body: "hello"),
            TestLog(time: 1_002, body: "no trace"),
            TestLog(time: 1_003, traceID: traceID(2), body: "two"),
        ]
        try store.append(kind: .logs, payload: OTLPBuild.logs([TestResource(service: "frontend", items: logs)]), itemCount: 3)

        let one = try #require(store.trace(id: traceID(1)))
        #expect(one.spans == OTLPBuild.traces([
            TestResource(service: "frontend", items: Array(frontend.prefix(2))),
            TestResource(service: "backend", scope: "db", items: backend),
        ]))
        #expect(one.logs == OTLPBuild.logs([TestResource(service: "frontend", items: [logs[0]])]))
        let two = try #require(store.trace(id: traceID(2)))
        #expect(two.spans == OTLPBuild.traces([TestResource(service: "frontend", items: [frontend[2]])]))
        #expect(two.logs == OTLPBuild.logs([TestResource(service: "frontend", items: [logs[2]])]))
        #expect(store.trace(id: traceID(3)) == nil)
        #expect(store.trace(id: [1, 2, 3]) == nil)

        #expect(store.services() == ["backend", "frontend"])
        #expect(store.operations(service: "frontend") == ["op0", "op1"])
        #expect(store.operations(service: "backend") == ["op5"])
        #expect(store.operations(service: "nope") == [])
        let found = store.search(service: "backend")
        #expect(found == [TraceSummary(traceID: OTLPTraceID(bytes: traceID(1))!, rootService: "frontend", rootOperation: "op0",
                                       startTimeUnixNano: 1_000, durationNanos: 55, spanCount: 3, errorCount: 0, logCount: 1)])
    }

    /// The same data reads the same after reopening (active segment rebuilt by scanning) and
    /// after sealing (index file).
    @Test func readsTheSameAfterReopenAndSeal() throws {
        let dir = TempDirectory()
        let payloads = (0..<5).map { t in
            OTLPBuild.traces([TestResource(service: "s\(t % 2)", items: traceSpans(t, count: 3, service: "s"))])
        }
        func check(_ store: TraceStore) throws {
            for t in 0..<5 {
                let got = try #require(store.trace(id: traceID(t)))
                #expect(got.spans == payloads[t])
                #expect(got.logs.isEmpty)
            }
            #expect(store.services() == ["s0", "s1"])
            #expect(store.search(limit: 0).count == 5)
        }
        do {
            let store = try TraceStore(config: testConfig(dir.path))
            for p in payloads { try store.append(kind: .spans, payload: p, itemCount: 3) }
            try check(store)
            store.close()
        }
        let events = EventLog()
        do {
            let store = try TraceStore(config: testConfig(dir.path), onEvent: events.sink)
            try check(store)
            try store.rotate()
            store.waitForMaintenance()
            #expect(store.statistics().sealedSegments == 1)
            try check(store)
            store.close()
        }
        #expect(dir.files() == ["seg-0000000000000001.idx", "seg-0000000000000001.seg", "seg-0000000000000002.seg"])
        let store = try TraceStore(config: testConfig(dir.path), onEvent: events.sink)
        try check(store)
        #expect(events.problems.isEmpty)
    }

    @Test func oneStorePerDirectory() throws {
        let dir = TempDirectory()
        let store = try TraceStore(config: testConfig(dir.path))
        do {
            _ = try TraceStore(config: testConfig(dir.path))
            Issue.record("a second store must not open the same directory")
        } catch {
            #expect(error.description.contains("is in use by another store"))
        }
        store.close()
        _ = try TraceStore(config: testConfig(dir.path))
    }

    @Test func refusesBadPayloads() throws {
        let dir = TempDirectory()
        let store = try TraceStore(config: testConfig(dir.path))
        let good = OTLPBuild.traces([TestResource(service: "s", items: traceSpans(1, count: 2))])
        #expect(throws: StoreError.self) { try store.append(kind: .spans, payload: Array(good.dropLast()), itemCount: 2) }
        do {
            try store.append(kind: .spans, payload: good, itemCount: 3)
            Issue.record("a wrong item count must be refused")
        } catch {
            #expect(error.isPermanent)
            #expect(error.description.contains("itemCount is 3 but the payload holds 2 spans"))
        }
        try store.append(kind: .spans, payload: [], itemCount: 0)
        #expect(store.statistics().appendedBlocks == 0)
        store.close()
        store.close()
        #expect(throws: StoreError.self) { try store.append(kind: .spans, payload: good, itemCount: 2) }
        #expect(store.trace(id: traceID(1)) == nil)
    }

    /// Spans without a (valid) trace id are stored but not indexed; a large payload is split
    /// into several blocks and still reads back whole.
    @Test func splitsLargePayloads() throws {
        let dir = TempDirectory()
        var config = testConfig(dir.path)
        config.blockMaxBytes = 2048
        let store = try TraceStore(config: config)
        let spans = (0..<40).flatMap { traceSpans($0, count: 5) }
        let payload = OTLPBuild.traces([TestResource(service: "big", items: spans)])
        #expect(payload.count > 4 * 2048)
        try store.append(kind: .spans, payload: payload, itemCount: spans.count)
        #expect(store.statistics().appendedBlocks > 4)
        for t in 0..<40 {
            let got = try #require(store.trace(id: traceID(t)))
            #expect(got.spans == OTLPBuild.traces([TestResource(service: "big", items: traceSpans(t, count: 5))]))
        }
        let noID = [TestSpan(traceID: [], spanID: spanID(1), name: "orphan", start: 1, end: 2)]
        try store.append(kind: .spans, payload: OTLPBuild.traces([TestResource(service: "x", items: noID)]), itemCount: 1)
        #expect(store.services().contains("x"))
        #expect(store.search(service: "x").isEmpty)
    }
}
