import OTLPCodec

/// A sealed segment's index file, mapped read-only and checked once when opened; queries then
/// read it in place (bloom filter, binary search over the sorted trace ids, fixed-size records).
///
/// Immutable after `init`, so thread-safe. Opening checks everything a lookup relies on (CRC,
/// section bounds, record sizes, sorted ids, every reference in range), so lookups need no
/// further checks and never read outside the mapping.
final class SealedIndex: SegmentIndex {
    let mapped: MappedFile
    let sequence: UInt64
    let dataLength: UInt64
    let created: UInt64
    let sealed: UInt64
    let timeRange: (min: UInt64, max: UInt64)?
    let blockCount: Int
    let traceCount: Int
    private let sections: [IndexFile.Section: Range<Int>]
    private let strings: [String]
    private let pairs: [PairStats]
    private let operationsByService: [String: [String]]
    private let bloomBits: UInt64
    private let bloomHashes: Int

    /// Maps and checks `file`; throws the reason it is unusable.
    init(file: SegmentFile, expectedSequence: UInt64) throws(BlockProblem) {
        let size: UInt64
        let mapping: MappedFile
        do throws(StoreError) {
            size = try file.size()
            mapping = try MappedFile(file, length: Int(min(size, 1 << 40)))
        } catch {
            throw BlockProblem(error.description)
        }
        guard size >= UInt64(StoreFormat.indexHeaderSize + StoreFormat.indexTrailerSize) else {
            throw BlockProblem("index file of \(size) bytes")
        }
        mapped = mapping
        let parsed = try mapped.withBytes { (bytes) throws(BlockProblem) in try Self.parse(bytes, expectedSequence) }
        sequence = expectedSequence
        (dataLength, created, sealed) = (parsed.dataLength, parsed.created, parsed.sealed)
        timeRange = parsed.blockCount == 0 ? nil : (parsed.minTime, parsed.maxTime)
        sections = parsed.sections
        strings = parsed.strings
        pairs = parsed.pairs
        blockCount = parsed.blockCount
        traceCount = parsed.traceCount
        (bloomBits, bloomHashes) = (parsed.bloomBits, parsed.bloomHashes)
        var operations: [String: Set<String>] = [:]
        for p in pairs { operations[strings[Int(p.service)], default: []].insert(strings[Int(p.operation)]) }
        operationsByService = operations.mapValues { Array($0) }
    }

    // MARK: Lookups

    func mightContain(_ id: OTLPTraceID) -> Bool {
        mapped.withBytes { bytes in
            let bloom = sections[.bloom]!
            let words = UnsafeRawBufferPointer(rebasing: bytes[(bloom.lowerBound + 16)..<bloom.upperBound])
            return BloomFilter.mightContain(id, words: words, bitCount: bloomBits, hashCount: bloomHashes)
        }
    }

    /// The position of `id` in the sorted id table (binary search; the bloom filter is the
    /// caller's `mightContain`).
    private func find(_ id: OTLPTraceID) -> Int? {
        mapped.withBytes { bytes in
            let base = sections[.traceIDs]!.lowerBound
            var lo = 0
            var hi = traceCount
            while lo < hi {
                let mid = (lo + hi) / 2
                let probe = OTLPTraceID(high: bytes.be64(base + mid * 16), low: bytes.be64(base + mid * 16 + 8))
                if probe == id { return mid }
                if probe < id { lo = mid + 1 } else { hi = mid }
            }
            return nil
        }
    }

    func blocks(of id: OTLPTraceID) -> [BlockRef] {
        guard let i = find(id) else { return [] }
        return mapped.withBytes { bytes in
            let entry = sections[.traces]!.lowerBound + i * 64
            let first = Int(bytes.le(entry, as: UInt32.self))
            let count = Int(bytes.le(entry + 4, as: UInt32.self))
            let refs = sections[.refs]!.lowerBound
            let slices = sections[.refSlices]?.lowerBound
            return (first..<(first + count)).map { k in
                let record = block(Int(bytes.le(refs + k * 4, as: UInt32.self)), bytes)
                let slice = slices.map { base in
                    SliceRef(offset: bytes.le(base + k * 8), length: bytes.le(base + k * 8 + 4)).range
                }
                return BlockRef(block: record, slice: slice)
            }
        }
    }

    func part(of id: OTLPTraceID) -> TracePart? {
        guard let i = find(id) else { return nil }
        return mapped.withBytes { part(at: i, $0) }
    }

    func services() -> [String] { Array(operationsByService.keys) }

    func operations(service: String) -> [String] { operationsByService[service] ?? [] }

    func candidates(service: String?, operation: String?) -> [SearchCandidate] {
        var wanted: [Bool]?
        if service != nil || operation != nil {
            let w = pairs.map { p in
                (service == nil || strings[Int(p.service)] == service)
                    && (operation == nil || strings[Int(p.operation)] == operation)
            }
            guard w.contains(true) else { return [] }
            wanted = w
        }
        return mapped.withBytes { bytes in
            let ids = sections[.traceIDs]!.lowerBound
            let traces = sections[.traces]!.lowerBound
            let tracePairs = sections[.tracePairs]!.lowerBound
            var out: [SearchCandidate] = []
            for i in 0..<traceCount {
                let entry = traces + i * 64
                guard bytes.le(entry + 48, as: UInt32.self) > 0 else { continue }
                if let wanted {
                    let first = Int(bytes.le(entry + 8, as: UInt32.self))
                    let count = Int(bytes.le(entry + 12, as: UInt32.self))
                    var hit = false
                    for k in first..<(first + count) where wanted[Int(bytes.le(tracePairs + k * 4, as: UInt32.self))] {
                        hit = true
                        break
                    }
                    if !hit { continue }
                }
                let id = OTLPTraceID(high: bytes.be64(ids + i * 16), low: bytes.be64(ids + i * 16 + 8))
                out.append(SearchCandidate(id: id, start: bytes.le(entry + 24), end: bytes.le(entry + 32)))
            }
            return out
        }
    }

    // MARK: Records

    private func block(_ i: Int, _ bytes: UnsafeRawBufferPointer) -> BlockRecord {
        let r = sections[.blocks]!.lowerBound + i * 48
        return BlockRecord(
            offset: bytes.le(r), storedLength: bytes.le(r + 8), kind: BlockKind(rawValue: bytes[r + 12]) ?? .spans,
            itemCount: bytes.le(r + 16), uncompressedLength: bytes.le(r + 20),
            minTime: bytes.le(r + 24), maxTime: bytes.le(r + 32), crc: bytes.le(r + 40))
    }

    private func part(at i: Int, _ bytes: UnsafeRawBufferPointer) -> TracePart {
        let e = sections[.traces]!.lowerBound + i * 64
        let rootService: UInt32 = bytes.le(e + 16)
        let rootOperation: UInt32 = bytes.le(e + 20)
        return TracePart(
            start: bytes.le(e + 24), end: bytes.le(e + 32),
            rootService: rootService == StoreFormat.noString ? nil : strings[Int(rootService)],
            rootOperation: rootOperation == StoreFormat.noString ? nil : strings[Int(rootOperation)],
            rootStart: bytes.le(e + 40), rootParentless: bytes.le(e + 60, as: UInt32.self) & 1 != 0,
            spanCount: Int(bytes.le(e + 48, as: UInt32.self)), errorCount: Int(bytes.le(e + 52, as: UInt32.self)),
            logCount: Int(bytes.le(e + 56, as: UInt32.self)))
    }
}
