import BatchProcessor
import CollectorCore
import CollectorTesting
import OTLPCodec
import Synchronization
import Testing

@Suite struct BatchProcessorTests {
    func make(size: Int = 10, max: Int = 0, timeout: UInt64 = 1_000, metrics: MetricsRegistry = MetricsRegistry(),
              split: @escaping BatchProcessor.Splitter = { _, bytes, _ in [(bytes, 0, [])] }) -> BatchProcessor {
        var s = BatchSettings()
        s.sendBatchSize = size
        s.sendBatchMaxSize = max
        s.timeout = timeout
        return BatchProcessor(settings: s, name: "batch", metrics: metrics, split: split)
    }

    func batch(_ bytes: [UInt8], _ count: Int, _ tokens: [AckToken] = []) -> TelemetryBatch {
        TelemetryBatch(signal: .traces, payload: bytes, itemCount: count, tokens: tokens)
    }

    @Test func mergesUntilSizeThenSends() {
        let p = make(size: 10)
        var out: [TelemetryBatch] = []
        p.process(batch([1], 4), now: 0) { out.append($0) }
        p.process(batch([2], 4), now: 10) { out.append($0) }
        #expect(out.isEmpty)
        #expect(p.nextDeadline == 1_000)
        p.process(batch([3], 4), now: 20) { out.append($0) }
        #expect(out.map(\.payload) == [[1, 2, 3]])
        #expect(out.map(\.itemCount) == [12])
        #expect(p.nextDeadline == nil)
    }

    @Test func timeoutSendsWhatIsHeld() {
        let p = make(size: 100, timeout: 500)
        var out: [TelemetryBatch] = []
        p.process(batch([1], 1), now: 100) { out.append($0) }
        p.timerFired(now: 599) { out.append($0) }
        #expect(out.isEmpty, "not yet due")
        p.timerFired(now: 600) { out.append($0) }
        #expect(out.map(\.payload) == [[1]])
        p.timerFired(now: 10_000) { out.append($0) }
        #expect(out.count == 1)
    }

    @Test func zeroTimeoutSendsImmediately() {
        let p = make(size: 100, timeout: 0)
        var out: [TelemetryBatch] = []
        p.process(batch([9], 1), now: 0) { out.append($0) }
        #expect(out.map(\.payload) == [[9]])
    }

    @Test func flushEmitsEverything() {
        let p = make(size: 100)
        var out: [TelemetryBatch] = []
        p.process(batch([1], 1), now: 0) { out.append($0) }
        p.process(batch([2], 1), now: 0) { out.append($0) }
        p.flush { out.append($0) }
        #expect(out.map(\.payload) == [[1, 2]])
        p.flush { out.append($0) }
        #expect(out.count == 1)
    }

    /// Pieces of a split batch each hold the source's tokens: the request is acknowledged once,
    /// after the last piece.
    @Test func maxSizeSplitsAndKeepsTokensUntilEveryPiece() {
        let metrics = MetricsRegistry()
        let p = make(size: 5, max: 5, metrics: metrics) { _, bytes, max in
            stride(from: 0, to: bytes.count, by: max).map { i in
                let piece = Array(bytes[i..<min(i + max, bytes.count)])
                return (piece, piece.count, [])
            }
        }
        let acks = Mutex(0)
        let token = AckToken { _ in acks.withLock { $0 += 1 } }
        var out: [TelemetryBatch] = []
        p.process(batch(Array(0..<12), 12, [token]), now: 0) { out.append($0) }
        #expect(out.map(\.payload) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]])
        #expect(out.map(\.itemCount) == [5, 5, 2])
        out[0].complete()
        out[1].complete()
        #expect(acks.withLock { $0 } == 0)
        out[2].complete()
        #expect(acks.withLock { $0 } == 1)
        let text = metrics.render()
        #expect(text.contains("otelcol_processor_batch_batch_send_size_count{processor=\"batch\"} 3"))
        #expect(text.contains("otelcol_processor_batch_batch_send_size_sum{processor=\"batch\"} 12"))
        #expect(text.contains("otelcol_processor_batch_batch_size_trigger_send_total{processor=\"batch\"} 1"))
    }

    /// Batching passes data unchanged, so a pipeline may feed its inline exporters at its
    /// entry; what they read stays marked through merging and splitting (never fed twice).
    @Test func mergedAndSplitBatchesKeepWhetherTheyWereFedInline() {
        let p = make(size: 5, max: 5) { _, bytes, max in
            stride(from: 0, to: bytes.count, by: max).map { i in
                let piece = Array(bytes[i..<min(i + max, bytes.count)])
                return (piece, piece.count, [])
            }
        }
        #expect(p.passesDataUnchanged)
        func fed(_ bytes: [UInt8], _ flag: Bool) -> TelemetryBatch {
            var b = batch(bytes, bytes.count)
            b.fedInline = flag
            return b
        }
        var out: [TelemetryBatch] = []
        p.process(fed(Array(0..<3), true), now: 0) { out.append($0) }
        p.process(fed(Array(3..<12), true), now: 0) { out.append($0) }
        #expect(out.map(\.payload) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]])
        #expect(out.map(\.fedInline) == [true, true, true])
        out = []
        p.process(fed(Array(0..<3), true), now: 0) { out.append($0) }
        p.process(fed(Array(3..<7), false), now: 0) { out.append($0) }
        #expect(out.map(\.payload) == [[0, 1, 2, 3, 4], [5, 6]])
        #expect(out.map(\.fedInline) == [false, false])
    }

    /// A split cut through resources: each piece's origins name the sources of the resource
    /// entries it holds (the real splitter, three resources from two clients).
    @Test func splitPiecesKeepTheirResourcesOrigins() throws {
        let p = make(size: 2, max: 2, timeout: 0) { signal, bytes, max in
            try OTLPSplitter.splitTracingResources(signal == .traces ? .traces : .logs, protobuf: bytes, maxItems: max)
        }
        func spans(_ n: Int) -> [TestSpan] {
            (0..<n).map { TestSpan(traceID: traceID($0 + 1), spanID: spanID($0 + 1), name: "s\($0)", start: 1, end: 2) }
        }
        let a = RequestContext(peerAddress: "10.0.0.1:1"), b = RequestContext(peerAddress: "10.0.0.2:2")
        let first = OTLPBuild.traces([TestResource(service: "a", items: spans(3))])
        let second = OTLPBuild.traces([TestResource(service: "b", items: spans(1)), TestResource(service: "c", items: spans(1))])
        var merged = TelemetryBatch(signal: .traces, payload: first, itemCount: 3, origins: [BatchOrigin(resources: 1, context: a)])
        merged.append(TelemetryBatch(signal: .traces, payload: second, itemCount: 2, origins: [BatchOrigin(resources: 2, context: b)]))
        var out: [TelemetryBatch] = []
        p.process(merged, now: 0) { out.append($0) }
        #expect(out.map(\.itemCount) == [2, 2, 1])
        #expect(out.map(\.origins) == [
            [BatchOrigin(resources: 1, context: a)],
            [BatchOrigin(resources: 1, context: a), BatchOrigin(resources: 1, context: b)],
            [BatchOrigin(resources: 1, context: b)],
        ])
    }

    /// Requests of `minPartBytes` or more are merged without a copy: the batch keeps their
    /// buffers as parts, in order; smaller ones are copied.
    @Test func largeRequestsAreMergedByReference() {
        let p = make(size: 4)
        let large = BatchProcessor.minPartBytes
        let a = [UInt8](repeating: 1, count: large), b = [UInt8](repeating: 2, count: large + 10)
        // More than the room after b, so that it is a part of its own (the test still holds b,
        // and writing into its room would copy it).
        let c = [UInt8](repeating: 3, count: b.capacity - b.count + 1)
        func address(_ bytes: [UInt8]) -> UInt { bytes.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } }
        var out: [TelemetryBatch] = []
        p.process(batch(a, 1), now: 0) { out.append($0) }
        p.process(batch(b, 1), now: 0) { out.append($0) }
        p.process(batch(c, 1), now: 0) { out.append($0) }
        p.process(batch(a, 1), now: 0) { out.append($0) }
        #expect(out.count == 1)
        var sent = out[0]
        #expect(address(sent.payload) == address(a), "the first request's buffer")
        #expect(sent.parts.count == 3)
        #expect(address(sent.parts[0]) == address(b))
        #expect(address(sent.parts[2]) == address(a))
        #expect(sent.parts[1] == c)
        #expect(sent.byteCount == 2 * large + large + 10 + c.count)
        sent.join()
        #expect(sent.payload == a + b + c + a)
        #expect(sent.itemCount == 4)
    }

    /// A split batch is joined first: the splitter sees all the data.
    @Test func aBatchWithPartsIsJoinedBeforeItIsSplit() {
        let seen = Mutex<[[UInt8]]>([])
        let p = make(size: 2, max: 1) { _, bytes, _ in
            seen.withLock { $0.append(bytes) }
            return [(Array(bytes.prefix(1)), 1, []), (Array(bytes.dropFirst()), 1, [])]
        }
        let large = [UInt8](repeating: 5, count: BatchProcessor.minPartBytes)
        var out: [TelemetryBatch] = []
        p.process(batch([4], 1), now: 0) { out.append($0) }
        p.process(batch(large, 1), now: 0) { out.append($0) }
        #expect(seen.withLock { $0 } == [[4] + large])
        #expect(out.map(\.payload) == [[4], large])
        #expect(out.allSatisfy { $0.parts.isEmpty })
    }
}
