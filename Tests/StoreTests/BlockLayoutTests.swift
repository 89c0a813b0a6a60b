import CollectorTesting
import Foundation
import OTLPCodec
@testable import Store
import Testing

/// Batches stay one block as they came, except that the items of hot traces (a trace already
/// in two blocks of the active segment) go to a block of their own laid out by trace, whose
/// slices the indexes (in memory, sealed, rebuilt by scanning) name exactly.
@Suite struct BlockLayoutTests {
    static let hot = 7

    /// Batch `b`: one span of the hot trace between spans of two traces of its own.
    static func batch(_ b: Int) -> [TestSpan] {
        [TestSpan(traceID: traceID(100 + b), spanID: spanID(b * 10 + 1), name: "a", start: 1_000, end: 2_000),
         TestSpan(traceID: traceID(hot), spanID: spanID(b * 10 + 2), name: "hot \(b)", start: 1_000 + UInt64(b), end: 3_000),
         TestSpan(traceID: traceID(200 + b), spanID: spanID(b * 10 + 3), name: "b", start: 1_000, end: 2_000)]
    }

    static func request(_ spans: [TestSpan]) -> [UInt8] { OTLPBuild.traces([TestResource(service: "svc", items: spans)]) }

    /// The hot trace's refs, and its slice of each block as bytes.
    private func hotSlices(_ store: TraceStore) throws -> [(whole: Bool, bytes: [UInt8])] {
        let id = OTLPTraceID(bytes: traceID(Self.hot))!
        var out: [(Bool, [UInt8])] = []
        for segment in store.snapshot() where segment.index.mightContain(id) {
            for ref in segment.index.blocks(of: id) {
                let payload = try #require(store.load(ref.block, from: segment))
                let slice = try #require(ref.slice)
                out.append((slice == 0..<payload.count, Array(payload[slice])))
            }
        }
        return out
    }

    @Test func hotTracesGetBlocksOfTheirOwnSlicedExactly() throws {
        let dir = TempDirectory()
        let batches = (0..<5).map { Self.batch($0) }
        do {
            let store = try TraceStore(config: testConfig(dir.path))
            for spans in batches { try store.append(kind: .spans, payload: Self.request(spans), itemCount: 3) }
            // Batches 0 and 1: one block each, as they came. From batch 2 on the trace is hot:
            // the batch's other spans are one block, its hot span another.
            #expect(store.statistics().appendedBlocks == 2 + 3 * 2)
            func check(_ label: String) throws {
                let slices = try hotSlices(store)
                #expect(slices.count == 5, "\(label)")
                for (b, slice) in slices.enumerated().dropFirst(2) {
                    #expect(slice.whole && slice.bytes == Self.request([batches[b][1]]), "\(label): hot block \(b)")
                }
                let whole = try #require(store.trace(id: traceID(Self.hot)))
                #expect(try decodeSpans(whole.spans).map(\.name).sorted() == (0..<5).map { "hot \($0)" })
                for b in 2..<5 {
                    #expect(store.trace(id: traceID(100 + b))?.spans == Self.request([batches[b][0]]), "\(label)")
                }
            }
            try check("memory index")
            try store.rotate()
            store.waitForMaintenance()
            try check("sealed index")
            // Lately hot: in the next segment the trace is hot from its first span on.
            try store.append(kind: .spans, payload: Self.request(Self.batch(5)), itemCount: 3)
            #expect(store.statistics().appendedBlocks == 8 + 2)
            store.close()
        }
        try FileManager.default.removeItem(atPath: dir.file("seg-0000000000000001.idx"))
        let reopened = try TraceStore(config: testConfig(dir.path))
        let slices = try hotSlices(reopened)
        #expect(slices.count == 6)
        for (b, slice) in slices.enumerated().dropFirst(2) {
            #expect(slice.whole && slice.bytes == Self.request([Self.batch(b)[1]]), "rebuilt index, hot block \(b)")
        }
    }

    /// Hot items are grouped by trace (each trace's items together, in wire order); the rest
    /// keep their order; nothing is lost or doubled.
    @Test func hotItemsAreGroupedByTrace() throws {
        let spans = (0..<12).map { i in
            TestSpan(traceID: traceID(i % 3), spanID: spanID(i + 1), name: "s\(i)", start: 1, end: 2)
        }
        let payload = Self.request(spans)
        let facts = try payload.withBytes { try BlockFacts(.spans, $0) }
        let blocks = try #require(try BlockLayout.cut(.spans, payload, facts: facts, maxBytes: 1 << 20) { $0 != OTLPTraceID(bytes: traceID(0)) })
        #expect(blocks.map(\.count) == [4, 8])
        #expect(blocks[0].bytes == Self.request(spans.filter { $0.traceID == traceID(0) }))
        let grouped = spans.filter { $0.traceID == traceID(1) } + spans.filter { $0.traceID == traceID(2) }
        #expect(try decodeSpans(blocks[1].bytes).map(\.name) == grouped.map(\.name))
        #expect(try BlockLayout.cut(.spans, payload, facts: facts, maxBytes: 1 << 20) { _ in false } == nil, "kept as it is")
        let split = try #require(try BlockLayout.cut(.spans, payload, facts: facts, maxBytes: payload.count / 3) { _ in false })
        #expect(split.count == 3 && split.map(\.count) == [4, 4, 4])
        let names = try split.flatMap { try decodeSpans($0.bytes).map(\.name) }
        #expect(names == spans.map(\.name), "split in wire order")
        for (b, block) in (blocks + split).enumerated() { try expectFactsAsScanned(block, .spans, "block \(b)") }
    }

    /// The facts a cut gives each block (the index's input) are exactly what scanning the
    /// block would give: spans with their resource entry renumbered, each entry's service and
    /// byte range; for spans and log records, over several resources and scopes, hot and cold
    /// items mixed, one item per trace or many.
    @Test func blockFactsAreThoseOfTheWrittenBlock() throws {
        var resources: [TestResource<TestSpan>] = []
        for r in 0..<4 {
            let spans = (0..<9).map { i in
                TestSpan(traceID: traceID((r * 7 + i) % 5), spanID: spanID(r * 100 + i + 1), name: "r\(r) s\(i)",
                         start: UInt64(1_000 + r * 10 + i), end: UInt64(5_000 + i), error: i % 4 == 0)
            }
            resources.append(TestResource<TestSpan>(service: r == 2 ? nil : "svc\(r)", items: spans))
        }
        let payload = OTLPBuild.traces(resources)
        let facts = try payload.withBytes { try BlockFacts(.spans, $0) }
        for maxBytes in [1 << 20, payload.count / 2, 2_000] {
            for hotTraces in [Set<Int>([1, 3]), [0, 1, 2, 3, 4], []] {
                let blocks = try BlockLayout.cut(.spans, payload, facts: facts, maxBytes: maxBytes) { id in
                    hotTraces.contains { OTLPTraceID(bytes: traceID($0)) == id }
                }
                let label = "maxBytes \(maxBytes), hot \(hotTraces.sorted())"
                guard let blocks else {
                    #expect(hotTraces.isEmpty && payload.count <= maxBytes, "\(label)")
                    continue
                }
                #expect(blocks.reduce(0) { $0 + $1.count } == 36, "\(label)")
                for (b, block) in blocks.enumerated() { try expectFactsAsScanned(block, .spans, "\(label), block \(b)") }
            }
        }
        let logs = OTLPBuild.logs((0..<3).map { r in
            TestResource<TestLog>(service: "svc\(r)", items: (0..<6).map { i in
                TestLog(time: UInt64(r * 10 + i + 1), traceID: i % 3 == 0 ? [] : traceID(i % 2), body: "line \(r) \(i)")
            })
        })
        let logFacts = try logs.withBytes { try BlockFacts(.logs, $0) }
        let logBlocks = try #require(try BlockLayout.cut(.logs, logs, facts: logFacts, maxBytes: 1 << 20) { $0 == OTLPTraceID(bytes: traceID(1)) })
        #expect(logBlocks.map(\.count) == [12, 6])
        for (b, block) in logBlocks.enumerated() { try expectFactsAsScanned(block, .logs, "log block \(b)") }
    }

    /// The buffers of written blocks are kept for the next cut (the same storage comes back)
    /// and let go by the timer's pass once no append came since the one before.
    @Test func writtenBlockBuffersAreReusedAndLetGoWhenIdle() throws {
        let dir = TempDirectory()
        let store = try TraceStore(config: testConfig(dir.path))
        defer { store.close() }
        // Spans large enough that their blocks' buffers are worth keeping (4 KiB or more).
        func batch(_ b: Int) -> [UInt8] {
            Self.request(Self.batch(b).map { span in
                var large = span
                large.name += String(repeating: "x", count: 5_000)
                return large
            })
        }
        for b in 0..<3 { try store.append(kind: .spans, payload: batch(b), itemCount: 3) }
        // Batch 2 had a hot span: its two blocks were written into buffers now spare.
        let spare = store.spareBuffers.retained
        #expect(spare.0 == 2 && spare.1 >= 2 * 4096)
        func spareAddresses() -> Set<UInt> {
            let spares = store.spareBuffers
            let taken = (0..<spares.retained.count).map { _ in spares.take(capacity: 1) }
            defer { for buffer in taken { spares.give(buffer) } }
            return Set(taken.map { $0.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } })
        }
        let first = spareAddresses()
        for b in 3..<5 { try store.append(kind: .spans, payload: batch(b), itemCount: 3) }
        #expect(spareAddresses() == first, "the same two buffers, reused by each later append")
        store.tick()
        store.tick()
        #expect(store.spareBuffers.retained == (0, 0))
        #expect(store.statistics().appendedBlocks == 2 + 3 * 2)
    }

    private func expectFactsAsScanned(_ block: BlockLayout.Block, _ kind: BlockKind, _ label: String) throws {
        let scanned = try block.bytes.withBytes { try BlockFacts(kind, $0) }
        switch (block.facts, scanned) {
        case (.spans(let derived), .spans(let scan)):
            #expect(derived.spans == scan.spans, "\(label): spans")
            #expect(derived.services == scan.services, "\(label): services")
            #expect(derived.entries == scan.entries, "\(label): entries")
        case (.logs(let derived), .logs(let scan)):
            #expect(derived.records == scan.records, "\(label): records")
            #expect(derived.services == scan.services, "\(label): services")
            #expect(derived.entries == scan.entries, "\(label): entries")
        default:
            Issue.record("\(label): kinds differ")
        }
    }
}
