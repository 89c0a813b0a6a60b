import CollectorTesting
import OTLPCodec
import Store
import Testing

/// Random sequences of appends (with duplicates and traces spread over batches), rotations,
/// reopenings and lookups, checked against a model: a dictionary of the spans and log
/// records each trace should have.
@Suite struct ModelTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
    }

    @Test(arguments: [1, 2, 3, 4])
    func randomActionsMatchTheModel(seed: UInt64) throws {
        var rng = Generator(state: seed &* 0x9E37_79B9_7F4A_7C15 | 1)
        let dir = TempDirectory("model")
        var config = testConfig(dir.path, segmentMaxBytes: 4096)
        config.blockMaxBytes = 1024
        let events = EventLog()
        var store = try TraceStore(config: config, onEvent: events.sink)
        var spans: [Int: Set<String>] = [:]
        var logs: [Int: Set<String>] = [:]
        var sent: [[UInt8]] = []
        var nextSpan = 0

        for _ in 0..<300 {
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<55:
                // A batch of spans from up to 4 traces of a pool of 30.
                var items: [TestSpan] = []
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    let t = Int.random(in: 1...30, using: &rng)
                    for _ in 0..<Int.random(in: 1...6, using: &rng) {
                        nextSpan += 1
                        let start = UInt64.random(in: 1_000...9_000, using: &rng)
                        items.append(TestSpan(traceID: traceID(t), spanID: spanID(nextSpan), name: "op\(nextSpan % 5)",
                                              start: start, end: start + UInt64.random(in: 0...500, using: &rng)))
                        spans[t, default: []].insert(hex(spanID(nextSpan)))
                    }
                }
                let payload = OTLPBuild.traces([TestResource(service: "svc\(nextSpan % 3)", items: items)])
                try store.append(kind: .spans, payload: payload, itemCount: items.count)
                sent.append(payload)
            case 55..<65:
                // A client retry: the same batch again.
                if let again = sent.randomElement(using: &rng) {
                    try store.append(kind: .spans, payload: again, itemCount: try OTLPValidator.count(.traces, protobuf: again))
                }
            case 65..<80:
                let t = Int.random(in: 1...30, using: &rng)
                let body = "log-\(Int.random(in: 0..<1_000_000, using: &rng))"
                logs[t, default: []].insert(body)
                try store.append(kind: .logs, payload: OTLPBuild.logs([TestResource(service: "svc", items: [
                    TestLog(time: 5_000, traceID: traceID(t), body: body),
                ])]), itemCount: 1)
            case 80..<85:
                try store.rotate()
            case 85..<88:
                store.close()
                store = try TraceStore(config: config, onEvent: events.sink)
            default:
                let t = Int.random(in: 1...30, using: &rng)
                try check(store, t, spans[t] ?? [], logs[t] ?? [])
            }
        }
        store.waitForMaintenance()
        for t in 1...30 { try check(store, t, spans[t] ?? [], logs[t] ?? []) }
        #expect(events.problems.isEmpty)
        // Search agrees with the model on which traces have spans.
        let found = Set(store.search(limit: 0).map { Int($0.traceID.low) })
        #expect(found == Set(spans.keys))
    }

    func check(_ store: TraceStore, _ t: Int, _ spans: Set<String>, _ logs: Set<String>) throws {
        guard let got = store.trace(id: traceID(t)) else {
            #expect(spans.isEmpty && logs.isEmpty, "trace \(t) missing")
            return
        }
        let ids = try decodeSpans(got.spans).map(\.spanID)
        #expect(ids.count == Set(ids).count, "trace \(t) has duplicates")
        #expect(Set(ids) == spans, "trace \(t) spans")
        #expect(Set(try decodeLogs(got.logs).map(\.body)) == logs, "trace \(t) logs")
    }
}
