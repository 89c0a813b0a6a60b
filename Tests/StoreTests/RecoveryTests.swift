import Checksums
import CollectorTesting
import Foundation
import OTLPCodec
import Store
import Testing

/// Torn tails, bit flips and corrupt indexes: detected, cut or skipped, reported exactly,
/// and everything else stays readable.
@Suite struct RecoveryTests {
    static let segment1 = "seg-0000000000000001.seg"
    static let index1 = "seg-0000000000000001.idx"

    /// Writes `count` one-trace blocks (trace t = block t) into a fresh store in `dir` and
    /// returns the offset where each block starts plus the final file size.
    static func writeBlocks(_ dir: TempDirectory, count: Int, seal: Bool = false) throws -> (starts: [Int], end: Int) {
        let store = try TraceStore(config: testConfig(dir.path))
        var starts: [Int] = []
        for t in 0..<count {
            starts.append(dir.size(segment1))
            try store.append(kind: .spans, payload: payload(t), itemCount: 2)
        }
        let end = dir.size(segment1)
        if seal {
            try store.rotate()
            store.waitForMaintenance()
        }
        store.close()
        return (starts, end)
    }

    static func payload(_ t: Int) -> [UInt8] {
        OTLPBuild.traces([TestResource(service: "s", items: traceSpans(t, count: 2, start: 1_000 + UInt64(t)))])
    }

    static func expectReadable(_ store: TraceStore, _ traces: some Sequence<Int>, sourceLocation: SourceLocation = #_sourceLocation) {
        for t in traces {
            #expect(store.trace(id: traceID(t))?.spans == payload(t), "trace \(t)", sourceLocation: sourceLocation)
        }
    }

    @Test func tornTailAtEveryByteOfTheLastBlockIsCut() throws {
        let original = TempDirectory("orig")
        let (starts, end) = try Self.writeBlocks(original, count: 3)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: original.file(Self.segment1)))
        let last = starts[2]
        #expect(end - last > 44)
        for cut in last..<end {
            let dir = TempDirectory("torn")
            let path = dir.file(Self.segment1)
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: path))
            let events = EventLog()
            let store = try TraceStore(config: testConfig(dir.path), onEvent: events.sink)
            if cut == last {
                #expect(events.all.isEmpty)
            } else {
                let reason = cut - last < 44 ? "truncated block header" : "runs past the end of the file"
                #expect(events.all.count == 1, "cut at \(cut)")
                guard case .truncatedTail(let file, let offset, let count, let why)? = events.kinds.first else {
                    Issue.record("cut at \(cut): \(events.all)")
                    continue
                }
                #expect(file == path && offset == UInt64(last) && count == UInt64(cut - last), "cut at \(cut)")
                #expect(why.contains(reason), "cut at \(cut): \(why)")
            }
            #expect(dir.size(Self.segment1) == last)
            Self.expectReadable(store, 0..<2)
            #expect(store.trace(id: traceID(2)) == nil)
            // Appending continues right after the last good block.
            try store.append(kind: .spans, payload: Self.payload(9), itemCount: 2)
            Self.expectReadable(store, [0, 1, 9])
        }
    }

    @Test func bitFlipsInTheMiddleAreSkippedAndAtTheEndCut() throws {
        let original = TempDirectory("orig")
        let (starts, end) = try Self.writeBlocks(original, count: 4)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: original.file(Self.segment1))))
        let block2 = starts[2]
        // Magic, version, kind, flags, payload length, uncompressed length, item count,
        // reserved, min time, CRC, first and middle payload bytes.
        let positions = [0, 4, 5, 6, 9, 13, 16, 21, 25, 41, 44, (block2 + starts[3]) / 2 - block2]
        for p in positions {
            for bit in [0, 7] {
                let dir = TempDirectory("flip")
                var copy = bytes
                copy[block2 + p] ^= 1 << bit
                try Data(copy).write(to: URL(fileURLWithPath: dir.file(Self.segment1)))
                let events = EventLog()
                let store = try TraceStore(config: testConfig(dir.path), onEvent: events.sink)
                guard events.all.count == 1,
                      case .skippedCorruptRange(_, let offset, let count, _)? = events.kinds.first else {
                    Issue.record("flip at \(p) bit \(bit): \(events.all)")
                    continue
                }
                #expect(offset == UInt64(block2) && count == UInt64(starts[3] - block2), "flip at \(p)")
                Self.expectReadable(store, [0, 1, 3])
                #expect(store.trace(id: traceID(2)) == nil)
                // The bad block stays in place; the file is not cut.
                #expect(dir.size(Self.segment1) == end)
            }
        }
        // A flip in the last block: nothing good follows, so it is cut.
        let dir = TempDirectory("flip-last")
        var copy = bytes
        copy[starts[3] + 50] ^= 0x10
        try Data(copy).write(to: URL(fileURLWithPath: dir.file(Self.segment1)))
        let events = EventLog()
        let store = try TraceStore(config: testConfig(dir.path), onEvent: events.sink)
        #expect(events.kinds == [.truncatedTail(file: dir.file(Self.segment1), offset: UInt64(starts[3]),
                                                bytes: UInt64(end - starts[3]), reason: "block checksum mismatch")])
        Self.expectReadable(store, 0..<3)
    }

    @Test func corruptBlockInSealedSegmentIsReportedOnceAndSkipped() throws {
        let dir = TempDirectory()
        let (starts, _) = try Self.writeBlocks(dir, count: 3, seal: true)
        let path = dir.file(Self.segment1)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[starts[1] + 60] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let events = EventLog()
        let store = try TraceStore(config: testConfig(dir.path), onEvent: events.sink)
        #expect(events.all.isEmpty)
        #expect(store.trace(id: traceID(1)) == nil)
        #expect(store.trace(id: traceID(1)) == nil)
        #expect(events.kinds == [.corruptBlock(file: path, offset: UInt64(starts[1]), reason: "block checksum mismatch")])
        Self.expectReadable(store, [0, 2])
        #expect(store.statistics().corruptBlocks == 1)
    }

    @Test func sealedSegmentShorterThanItsIndexIsReported() throws {
        let dir = TempDirectory()
        let (starts, end) = try Self.writeBlocks(dir, count: 3, seal: true)
        let path = dir.file(Self.segment1)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(starts[2] + 10))
        try handle.close()
        let events = EventLog()
        let store = try TraceStore(config: testConfig(dir.path), onEvent: events.sink)
        #expect(events.kinds == [.skippedCorruptRange(file: path, offset: UInt64(starts[2] + 10), bytes: UInt64(end - starts[2] - 10),
                                                      reason: "missing: the index covers \(end) bytes")])
        Self.expectReadable(store, 0..<2)
        #expect(store.trace(id: traceID(2)) == nil)
        #expect(events.kinds.count == 2)
    }

    @Test func corruptSealedIndexIsReportedAndTheSegmentStillServed() throws {
        for damage in ["flip", "truncate", "empty"] {
            let dir = TempDirectory("index")
            _ = try Self.writeBlocks(dir, count: 3, seal: true)
            let indexPath = dir.file(Self.index1)
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: indexPath)))
            switch damage {
            case "flip": bytes[bytes.count / 2] ^= 0x04
            case "truncate": bytes.removeLast(9)
            default: bytes = []
            }
            try Data(bytes).write(to: URL(fileURLWithPath: indexPath))
            let segmentBefore = try Data(contentsOf: URL(fileURLWithPath: dir.file(Self.segment1)))
            let events = EventLog()
            let store = try TraceStore(config: testConfig(dir.path), onEvent: events.sink)
            let expected = damage == "flip" ? "index checksum mismatch" : damage == "truncate" ? "bad index trailer magic" : "index file of 0 bytes"
            #expect(events.kinds == [.corruptIndex(file: indexPath, reason: expected)], "\(damage)")
            Self.expectReadable(store, 0..<3)
            #expect(store.services() == ["s"])
            #expect(store.search(service: "s", limit: 0).count == 3)
            store.close()
            // Neither file was rewritten.
            #expect(try Data(contentsOf: URL(fileURLWithPath: indexPath)) == Data(bytes))
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file(Self.segment1))) == segmentBefore)
        }
    }

    /// Found by fuzzing (Fuzz/corpus/FuzzIndex/regression-block-record-offset-overflow): a
    /// block record whose offset plus length overflows 64 bits (with a right checksum, as disk
    /// damage or a bug could leave it) trapped while the index was checked, so the store, and
    /// the collector with it, crashed at every start instead of rebuilding the index.
    @Test func blockRecordOverflowingTheDataLengthIsACorruptIndex() throws {
        let dir = TempDirectory("index")
        _ = try Self.writeBlocks(dir, count: 3, seal: true)
        let indexPath = dir.file(Self.index1)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: indexPath)))
        func le64(_ at: Int) -> Int { (0..<8).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
        // The blocks section (id 1) from the directory after the 64-byte header; its first
        // record's offset becomes 2^64 - 16.
        let sections = Int(bytes[56])
        let entry = try #require((0..<sections).map { 64 + $0 * 24 }.first { bytes[$0] == 1 })
        let record = le64(entry + 8)
        for i in 0..<8 { bytes[record + i] = i == 0 ? 0xF0 : 0xFF }
        let end = bytes.count - 8
        let crc = CRC32C.checksum(Array(bytes[..<end]))
        for i in 0..<4 { bytes[end + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
        try Data(bytes).write(to: URL(fileURLWithPath: indexPath))
        let events = EventLog()
        let store = try TraceStore(config: testConfig(dir.path), onEvent: events.sink)
        #expect(events.kinds == [.corruptIndex(file: indexPath, reason: "bad block record at index offset \(record)")])
        Self.expectReadable(store, 0..<3)
        store.close()
    }

    @Test func badSegmentHeadersAreReportedAndSkipped() throws {
        let dir = TempDirectory()
        _ = try Self.writeBlocks(dir, count: 2, seal: true)
        // Segment 2 (active, unsealed) gets a block, then its file header is damaged.
        do {
            let store = try TraceStore(config: testConfig(dir.path))
            try store.append(kind: .spans, payload: Self.payload(5), itemCount: 2)
            store.close()
        }
        let segment2 = dir.file("seg-0000000000000002.seg")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: segment2)))
        bytes[1] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: segment2))
        let events = EventLog()
        let store = try TraceStore(config: testConfig(dir.path), onEvent: events.sink)
        #expect(events.kinds == [.corruptSegment(file: segment2, reason: "bad segment magic")])
        Self.expectReadable(store, 0..<2)
        #expect(store.trace(id: traceID(5)) == nil)
        // A new active segment follows; the bad file is left as it was.
        try store.append(kind: .spans, payload: Self.payload(6), itemCount: 2)
        Self.expectReadable(store, [6])
        #expect(dir.files().contains("seg-0000000000000003.seg"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: segment2)) == Data(bytes))
    }

    @Test func tornHeaderAndLeftoversAreCleanedUp() throws {
        let dir = TempDirectory()
        try Data([0x53, 0x53, 0x45]).write(to: URL(fileURLWithPath: dir.file(Self.segment1)))
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir.file("seg-0000000000000001.idx.tmp")))
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir.file("seg-0000000000000000.idx")))
        try Data([1]).write(to: URL(fileURLWithPath: dir.file("unrelated.txt")))
        let events = EventLog()
        let store = try TraceStore(config: testConfig(dir.path), onEvent: events.sink)
        #expect(Set(events.kinds) == [
            .removedLeftover(file: dir.file("seg-0000000000000001.idx.tmp")),
            .removedLeftover(file: dir.file("seg-0000000000000000.idx")),
            .truncatedTail(file: dir.file(Self.segment1), offset: 0, bytes: 3, reason: "torn segment header"),
        ])
        #expect(dir.files() == [Self.segment1, "unrelated.txt"])
        try store.append(kind: .spans, payload: Self.payload(1), itemCount: 2)
        Self.expectReadable(store, [1])
    }

    /// An unsealed segment older than the active one (a crash while sealing) is sealed at open.
    @Test func olderUnsealedSegmentsAreSealedAtOpen() throws {
        let dir = TempDirectory()
        _ = try Self.writeBlocks(dir, count: 2, seal: true)
        try FileManager.default.removeItem(atPath: dir.file(Self.index1))
        do {
            let store = try TraceStore(config: testConfig(dir.path))
            try store.append(kind: .spans, payload: Self.payload(3), itemCount: 2)
            store.close()
        }
        let events = EventLog()
        let store = try TraceStore(config: testConfig(dir.path), onEvent: events.sink)
        store.waitForMaintenance()
        #expect(events.problems.isEmpty)
        #expect(dir.files() == [Self.index1, Self.segment1, "seg-0000000000000002.seg"])
        Self.expectReadable(store, [0, 1, 3])
    }
}
