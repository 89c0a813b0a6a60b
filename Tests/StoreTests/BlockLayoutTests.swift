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
        let ids = spans.map { OTLPTraceID(bytes: $0.traceID) }
        let blocks = try #require(try BlockLayout.cut(.spans, payload, maxBytes: 1 << 20, ids: ids) { $0 != OTLPTraceID(bytes: traceID(0)) })
        #expect(blocks.map(\.count) == [4, 8])
        #expect(blocks[0].bytes == Self.request(spans.filter { $0.traceID == traceID(0) }))
        let grouped = spans.filter { $0.traceID == traceID(1) } + spans.filter { $0.traceID == traceID(2) }
        #expect(try decodeSpans(blocks[1].bytes).map(\.name) == grouped.map(\.name))
        #expect(try BlockLayout.cut(.spans, payload, maxBytes: 1 << 20, ids: ids) { _ in false } == nil, "kept as it is")
        let split = try #require(try BlockLayout.cut(.spans, payload, maxBytes: payload.count / 3, ids: ids) { _ in false })
        #expect(split.count > 1 && split.reduce(0) { $0 + $1.count } == 12)
    }
}
