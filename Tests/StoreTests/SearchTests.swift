import CollectorTesting
import OTLPCodec
import Store
import Testing

@Suite struct SearchTests {
    static func id(_ t: Int) -> OTLPTraceID { OTLPTraceID(bytes: traceID(t))! }

    static func span(_ t: Int, _ s: Int, parent: Int?, _ name: String, _ start: UInt64, _ end: UInt64,
                     error: Bool = false, _ attributes: [String: TestValue] = [:]) -> TestSpan {
        TestSpan(traceID: traceID(t), spanID: spanID(t * 100 + s), parentSpanID: parent.map { spanID(t * 100 + $0) } ?? [],
                 name: name, start: start, end: end, error: error, attributes: attributes)
    }

    /// T1..T4 in segment 1; T5's frontend part in segment 1, its backend part in segment 2.
    static func makeStore(_ dir: TempDirectory) throws -> TraceStore {
        let store = try TraceStore(config: testConfig(dir.path))
        let frontend = [
            span(1, 0, parent: nil, "GET /", 1000, 1500, ["http.status_code": .int(200)]),
            span(2, 0, parent: nil, "GET /", 2000, 2100),
            span(5, 0, parent: nil, "GET /slow", 5000, 5010),
        ]
        let cart = [
            span(1, 1, parent: 0, "add", 1100, 1200, error: true),
            span(3, 0, parent: nil, "job", 3000, 5000),
        ]
        let payment = [
            span(2, 1, parent: 0, "charge", 2010, 2090, ["card": .string("visa")]),
            span(4, 0, parent: 9, "x", 4000, 4010),
            span(4, 1, parent: 9, "y", 3900, 3950),
        ]
        try store.append(kind: .spans, payload: OTLPBuild.traces([
            TestResource(service: "frontend", items: frontend),
            TestResource(service: "cart", items: cart),
            TestResource(service: "payment", items: payment),
        ]), itemCount: 8)
        try store.append(kind: .logs, payload: OTLPBuild.logs([TestResource(service: "cart", items: [
            TestLog(time: 1150, traceID: traceID(1), spanID: spanID(101), body: "cart failed"),
        ])]), itemCount: 1)
        try store.rotate()
        try store.append(kind: .spans, payload: OTLPBuild.traces([
            TestResource(service: "backend", items: [span(5, 1, parent: 0, "db", 5005, 9000)]),
        ]), itemCount: 1)
        return store
    }

    @Test func searchSemantics() throws {
        let dir = TempDirectory()
        let store = try Self.makeStore(dir)
        func ids(_ found: [TraceSummary]) -> [Int] { found.map { Int($0.traceID.low) } }
        for pass in 0..<2 {
            // The same answers from memory indexes and, after sealing, from index files.
            #expect(ids(store.search(service: "frontend")) == [5, 2, 1], "pass \(pass)")
            #expect(ids(store.search(service: "frontend", operation: "GET /")) == [2, 1])
            #expect(ids(store.search(service: "cart")) == [3, 1])
            #expect(ids(store.search(service: "nobody")) == [])
            #expect(ids(store.search(operation: "charge")) == [2])
            #expect(ids(store.search(minDuration: .nanoseconds(500))) == [5, 3, 1])
            #expect(ids(store.search(service: "frontend", minDuration: .nanoseconds(3000))) == [5])
            #expect(ids(store.search(maxDuration: .nanoseconds(110))) == [4, 2])
            #expect(ids(store.search(start: 2500, end: 4500)) == [4, 3])
            #expect(ids(store.search(start: 8000)) == [5])
            #expect(ids(store.search(tags: ["http.status_code": "200"])) == [1])
            #expect(ids(store.search(service: "frontend", tags: ["card": "visa"])) == [])
            #expect(ids(store.search(service: "payment", tags: ["card": "visa"])) == [2])
            #expect(ids(store.search(tags: ["error": "true"])) == [1])
            #expect(ids(store.search(limit: 2)) == [5, 4])
            #expect(ids(store.search(limit: 0)) == [5, 4, 3, 2, 1])

            let t1 = store.search(service: "cart", operation: "add").first
            #expect(t1 == TraceSummary(traceID: Self.id(1), rootService: "frontend", rootOperation: "GET /",
                                       startTimeUnixNano: 1000, durationNanos: 500, spanCount: 2, errorCount: 1, logCount: 1))
            // No span without parent: the earliest span stands in for the root.
            #expect(store.search(service: "payment", operation: "x").first == TraceSummary(
                traceID: Self.id(4), rootService: "payment", rootOperation: "y",
                startTimeUnixNano: 3900, durationNanos: 110, spanCount: 2, errorCount: 0, logCount: 0))
            // Merged across segments.
            #expect(store.search(service: "backend").first == TraceSummary(
                traceID: Self.id(5), rootService: "frontend", rootOperation: "GET /slow",
                startTimeUnixNano: 5000, durationNanos: 4000, spanCount: 2, errorCount: 0, logCount: 0))

            #expect(store.services() == ["backend", "cart", "frontend", "payment"])
            #expect(store.operations(service: "payment") == ["charge", "x", "y"])
            try store.rotate()
            store.waitForMaintenance()
            #expect(store.statistics().sealedSegments == 2)
        }
    }
}
