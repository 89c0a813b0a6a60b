import Checksums
/// Checking an index file when it is opened (layout in `StoreFormat`).
extension SealedIndex {
    struct Parsed {
        var dataLength: UInt64 = 0
        var created: UInt64 = 0
        var sealed: UInt64 = 0
        var minTime: UInt64 = 0
        var maxTime: UInt64 = 0
        var sections: [IndexFile.Section: Range<Int>] = [:]
        var strings: [String] = []
        var pairs: [PairStats] = []
        var blockCount = 0
        var traceCount = 0
        var bloomBits: UInt64 = 0
        var bloomHashes = 0
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, _ expectedSequence: UInt64) throws(BlockProblem) -> Parsed {
        let end = bytes.count - StoreFormat.indexTrailerSize
        guard bytes.matches(StoreFormat.indexEndMagic, at: end + 4) else { throw BlockProblem("bad index trailer magic") }
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<end])) == bytes.le(end, as: UInt32.self) else {
            throw BlockProblem("index checksum mismatch")
        }
        guard bytes.matches(StoreFormat.indexMagic, at: 0) else { throw BlockProblem("bad index magic") }
        let version: UInt16 = bytes.le(4)
        guard version == StoreFormat.version else { throw BlockProblem("unknown index version \(version)") }
        let sequence: UInt64 = bytes.le(8)
        guard sequence == expectedSequence else {
            throw BlockProblem("index is for segment \(sequence), expected \(expectedSequence)")
        }
        var p = Parsed(dataLength: bytes.le(16), created: bytes.le(24), sealed: bytes.le(32),
                       minTime: bytes.le(40), maxTime: bytes.le(48))
        try parseDirectory(bytes, end: end, into: &p)
        try parseStrings(bytes, &p)
        try parseRecords(bytes, &p)
        try checkTraces(bytes, p)
        return p
    }

    private static func parseDirectory(_ bytes: UnsafeRawBufferPointer, end: Int, into p: inout Parsed) throws(BlockProblem) {
        let count = Int(bytes.le(56, as: UInt32.self))
        let directoryEnd = StoreFormat.indexHeaderSize + count * IndexFile.directoryEntrySize
        guard count <= 64, directoryEnd <= end else { throw BlockProblem("bad index section count \(count)") }
        for i in 0..<count {
            let entry = StoreFormat.indexHeaderSize + i * IndexFile.directoryEntrySize
            let offset: UInt64 = bytes.le(entry + 8)
            let length: UInt64 = bytes.le(entry + 16)
            guard offset >= UInt64(directoryEnd), offset <= UInt64(end), length <= UInt64(end) - offset else {
                throw BlockProblem("index section \(i) out of bounds")
            }
            guard let section = IndexFile.Section(rawValue: bytes.le(entry, as: UInt32.self)) else { continue }
            guard p.sections[section] == nil else { throw BlockProblem("duplicate index section \(section.rawValue)") }
            let range = Int(offset)..<Int(offset + length)
            if let size = section.recordSize, range.count % size != 0 {
                throw BlockProblem("index section \(section.rawValue) is not a whole number of records")
            }
            p.sections[section] = range
        }
        for section in IndexFile.Section.allCases where p.sections[section] == nil && !section.isOptional {
            throw BlockProblem("index section \(section.rawValue) missing")
        }
        p.blockCount = p.sections[.blocks]!.count / 48
        p.traceCount = p.sections[.traceIDs]!.count / 16
        guard p.sections[.traces]!.count == p.traceCount * 64 else { throw BlockProblem("trace table size mismatch") }
        let bloom = p.sections[.bloom]!
        guard bloom.count >= 16 else { throw BlockProblem("bloom filter truncated") }
        p.bloomHashes = Int(bytes.le(bloom.lowerBound, as: UInt32.self))
        p.bloomBits = bytes.le(bloom.lowerBound + 8)
        guard (1...32).contains(p.bloomHashes), p.bloomBits > 0, p.bloomBits % 64 == 0,
              UInt64(bloom.count - 16) == p.bloomBits / 8 else {
            throw BlockProblem("bad bloom filter parameters")
        }
    }

    private static func parseStrings(_ bytes: UnsafeRawBufferPointer, _ p: inout Parsed) throws(BlockProblem) {
        let range = p.sections[.strings]!
        guard range.count >= 8 else { throw BlockProblem("string table truncated") }
        let count = Int(bytes.le(range.lowerBound, as: UInt32.self))
        let table = range.lowerBound + 4
        let data = table + (count + 1) * 4
        guard count < range.count, data <= range.upperBound else { throw BlockProblem("string table truncated") }
        var previous = 0
        p.strings.reserveCapacity(count)
        for i in 0...count {
            let offset = Int(bytes.le(table + i * 4, as: UInt32.self))
            guard offset >= previous, data + offset <= range.upperBound else { throw BlockProblem("bad string offsets") }
            if i > 0 {
                p.strings.append(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(data + previous)..<(data + offset)]), as: UTF8.self))
            }
            previous = offset
        }
    }

    private static func parseRecords(_ bytes: UnsafeRawBufferPointer, _ p: inout Parsed) throws(BlockProblem) {
        let pairs = p.sections[.pairs]!
        for r in stride(from: pairs.lowerBound, to: pairs.upperBound, by: 40) {
            let pair = PairStats(service: bytes.le(r), operation: bytes.le(r + 4), minTime: bytes.le(r + 8),
                                 maxTime: bytes.le(r + 16), spanCount: bytes.le(r + 24), errorCount: bytes.le(r + 32))
            guard Int(pair.service) < p.strings.count, Int(pair.operation) < p.strings.count else {
                throw BlockProblem("pair names out of range")
            }
            p.pairs.append(pair)
        }
        let blocks = p.sections[.blocks]!
        var next = UInt64(StoreFormat.segmentHeaderSize)
        for r in stride(from: blocks.lowerBound, to: blocks.upperBound, by: 48) {
            let offset: UInt64 = bytes.le(r)
            let length = UInt64(bytes.le(r + 8, as: UInt32.self))
            // (`offset + length` could overflow: a corrupt record must be refused, not trap.)
            guard offset >= next, length >= UInt64(StoreFormat.blockHeaderSize), length <= p.dataLength,
                  offset <= p.dataLength - length,
                  BlockKind(rawValue: bytes[r + 12]) != nil else {
                throw BlockProblem("bad block record at index offset \(r)")
            }
            next = offset + length
        }
    }

    private static func checkTraces(_ bytes: UnsafeRawBufferPointer, _ p: Parsed) throws(BlockProblem) {
        let ids = p.sections[.traceIDs]!.lowerBound
        let traces = p.sections[.traces]!.lowerBound
        let refs = p.sections[.refs]!
        let tracePairs = p.sections[.tracePairs]!
        let refCount = refs.count / 4
        let tracePairCount = tracePairs.count / 4
        if let slices = p.sections[.refSlices], slices.count != refCount * 8 {
            throw BlockProblem("ref slice table size mismatch")
        }
        var previous: (UInt64, UInt64)?
        for i in 0..<p.traceCount {
            let id = (bytes.be64(ids + i * 16), bytes.be64(ids + i * 16 + 8))
            if let previous, !(previous < id) { throw BlockProblem("trace ids not sorted") }
            previous = id
            let e = traces + i * 64
            let first = Int(bytes.le(e, as: UInt32.self)), count = Int(bytes.le(e + 4, as: UInt32.self))
            guard first <= refCount, count <= refCount - first else { throw BlockProblem("trace refs out of range") }
            for k in first..<(first + count) where Int(bytes.le(refs.lowerBound + k * 4, as: UInt32.self)) >= p.blockCount {
                throw BlockProblem("block ref out of range")
            }
            let pfirst = Int(bytes.le(e + 8, as: UInt32.self)), pcount = Int(bytes.le(e + 12, as: UInt32.self))
            guard pfirst <= tracePairCount, pcount <= tracePairCount - pfirst else { throw BlockProblem("trace pairs out of range") }
            for k in pfirst..<(pfirst + pcount) where Int(bytes.le(tracePairs.lowerBound + k * 4, as: UInt32.self)) >= p.pairs.count {
                throw BlockProblem("pair ref out of range")
            }
            for field in [e + 16, e + 20] {
                let s: UInt32 = bytes.le(field)
                guard s == StoreFormat.noString || Int(s) < p.strings.count else { throw BlockProblem("root name out of range") }
            }
        }
    }
}
