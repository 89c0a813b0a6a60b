import CollectorTesting
import Foundation
import OTLPCodec
@testable import Store
import Testing

/// Appends are laid out by trace in small blocks, and the indexes (in memory, sealed, rebuilt
/// by scanning) name each trace's slice of each block: exactly that trace's resource entries,
/// themselves a request holding its spans and nothing else.
@Suite struct BlockLayoutTests {
    /// Three traces whose spans are interleaved in one resource, and a span without trace id.
    static let spans: [TestSpan] = (0..<4).flatMap { i in
        (1...3).map { t in TestSpan(traceID: traceID(t), spanID: spanID(t * 100 + i), name: "op\(i)",
                                    start: 1_000 + UInt64(i), end: 2_000) }
    } + [TestSpan(traceID: [], spanID: spanID(999), name: "orphan", start: 5, end: 6)]

    static func expected(_ t: Int) -> [UInt8] {
        OTLPBuild.traces([TestResource(service: "svc", items: spans.filter { $0.traceID == traceID(t) })])
    }

    /// Each trace's slice of its block, read back from the block's payload.
    private func slices(_ store: TraceStore) throws -> [Int: [UInt8]] {
        var out: [Int: [UInt8]] = [:]
        for t in 1...3 {
            let id = OTLPTraceID(bytes: traceID(t))!
            for segment in store.snapshot() where segment.index.mightContain(id) {
                let refs = segment.index.blocks(of: id)
                #expect(refs.count == 1)
                let ref = try #require(refs.first)
                let payload = try #require(store.load(ref.block, from: segment))
                let slice = try #require(ref.slice)
                out[t] = Array(payload[slice])
            }
        }
        return out
    }

    @Test func tracesAreWrittenTogetherAndSlicedExactly() throws {
        let dir = TempDirectory()
        let payload = OTLPBuild.traces([TestResource(service: "svc", items: Self.spans)])
        do {
            let store = try TraceStore(config: testConfig(dir.path))
            try store.append(kind: .spans, payload: payload, itemCount: Self.spans.count)
            #expect(store.statistics().appendedBlocks == 1)
            for t in 1...3 { #expect(try slices(store)[t] == Self.expected(t), "memory index, trace \(t)") }
            try store.rotate()
            store.waitForMaintenance()
            #expect(store.statistics().sealedSegments == 1)
            for t in 1...3 { #expect(try slices(store)[t] == Self.expected(t), "sealed index, trace \(t)") }
            store.close()
        }
        // Without its index file the sealed segment is rebuilt by scanning: the same slices.
        try FileManager.default.removeItem(atPath: dir.file("seg-0000000000000001.idx"))
        let reopened = try TraceStore(config: testConfig(dir.path))
        for t in 1...3 { #expect(try slices(reopened)[t] == Self.expected(t), "rebuilt index, trace \(t)") }
        for t in 1...3 { #expect(reopened.trace(id: traceID(t))?.spans == Self.expected(t)) }
    }

    /// A block is closed at a trace boundary once it reaches the target; a trace larger than
    /// the target is cut at item boundaries; every span is stored once.
    @Test func blocksAreCutAtTraceBoundaries() throws {
        let many = (0..<30).flatMap { traceSpans($0, count: 6) }
        let payload = OTLPBuild.traces([TestResource(service: "svc", items: many)])
        let perTrace = OTLPBuild.traces([TestResource(service: "svc", items: traceSpans(0, count: 6))]).count
        let blocks = try BlockLayout.cut(.spans, payload, target: perTrace * 4)
        #expect(blocks.count == 8, "4 traces a block, the last block 2")
        #expect(blocks.map(\.count) == [24, 24, 24, 24, 24, 24, 24, 12])
        let big = try BlockLayout.cut(.spans, OTLPBuild.traces([TestResource(service: "svc", items: traceSpans(1, count: 60))]),
                                      target: 1024)
        #expect(big.count > 1 && big.reduce(0) { $0 + $1.count } == 60)
        // The target counts the items; each piece adds its resource and scope fields once.
        #expect(big.allSatisfy { $0.bytes.count <= 1024 + 64 }, "\(big.map(\.bytes.count))")
    }
}

