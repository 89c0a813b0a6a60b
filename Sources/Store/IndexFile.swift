import OTLPCodec
import Checksums

/// Serializes a segment's `MemoryIndex` into an index file (layout in `StoreFormat`), and the
/// constants both the writer and `SealedIndex` use.
enum IndexFile {
    enum Section: UInt32, CaseIterable {
        case blocks = 1, strings, pairs, traceIDs, traces, refs, tracePairs, bloom, refSlices

        /// Fixed record size, or nil for variable sections.
        var recordSize: Int? {
            switch self {
            case .blocks: 48
            case .pairs: 40
            case .traceIDs: 16
            case .traces: 64
            case .refs, .tracePairs: 4
            case .refSlices: 8
            case .strings, .bloom: nil
            }
        }

        /// Sections an index may lack (written by an older version): ref slices.
        var isOptional: Bool { self == .refSlices }
    }

    static let directoryEntrySize = 24

    /// Index header fields besides what the `MemoryIndex` holds.
    struct Header {
        var sequence: UInt64
        var created: UInt64
        var sealed: UInt64
    }

    static func encode(_ index: MemoryIndex, _ header: Header) -> [UInt8] {
        let ids = index.traces.keys.sorted()
        var sections: [(Section, [UInt8])] = []
        sections.append((.blocks, encodeBlocks(index.blocks)))
        sections.append((.strings, encodeStrings(index.strings)))
        sections.append((.pairs, encodePairs(index.pairs)))

        var idBytes: [UInt8] = []
        idBytes.reserveCapacity(ids.count * 16)
        var traces: [UInt8] = []
        traces.reserveCapacity(ids.count * 64)
        var refs: [UInt8] = []
        var slices: [UInt8] = []
        var tracePairs: [UInt8] = []
        var bloom = BloomFilter(capacity: ids.count)
        for id in ids {
            let t = index.traces[id]!
            idBytes.appendBE(id.high)
            idBytes.appendBE(id.low)
            traces.appendLE(UInt32(refs.count / 4))
            traces.appendLE(UInt32(t.blocks.count))
            traces.appendLE(UInt32(tracePairs.count / 4))
            traces.appendLE(UInt32(t.pairs.count))
            traces.appendLE(t.rootService)
            traces.appendLE(t.rootOperation)
            traces.appendLE(t.start)
            traces.appendLE(t.end)
            traces.appendLE(t.rootStart)
            traces.appendLE(t.spanCount)
            traces.appendLE(t.errorCount)
            traces.appendLE(t.logCount)
            traces.appendLE(UInt32(t.rootParentless ? 1 : 0))
            for b in t.blocks { refs.appendLE(b) }
            for slice in t.slices {
                slices.appendLE(slice.offset)
                slices.appendLE(slice.length)
            }
            for p in t.pairs { tracePairs.appendLE(p) }
            bloom.insert(id)
        }
        sections.append((.traceIDs, idBytes))
        sections.append((.traces, traces))
        sections.append((.refs, refs))
        sections.append((.tracePairs, tracePairs))
        var bloomBytes: [UInt8] = []
        bloomBytes.appendLE(UInt32(BloomFilter.hashCount))
        bloomBytes.appendLE(UInt32(0))
        bloomBytes.appendLE(bloom.bitCount)
        for w in bloom.words { bloomBytes.appendLE(w) }
        sections.append((.bloom, bloomBytes))
        sections.append((.refSlices, slices))

        var out: [UInt8] = StoreFormat.indexMagic
        out.appendLE(StoreFormat.version)
        out.appendLE(UInt16(0))
        out.appendLE(header.sequence)
        out.appendLE(index.dataLength)
        out.appendLE(header.created)
        out.appendLE(header.sealed)
        out.appendLE(index.blocks.isEmpty || index.minTime == .max ? 0 : index.minTime)
        out.appendLE(index.maxTime)
        out.appendLE(UInt32(sections.count))
        out.appendLE(UInt32(0))
        assert(out.count == StoreFormat.indexHeaderSize)
        let directoryStart = out.count
        out += [UInt8](repeating: 0, count: sections.count * directoryEntrySize)
        out.pad(to: 8)
        for (i, (section, bytes)) in sections.enumerated() {
            let entry = directoryStart + i * directoryEntrySize
            out.storeLE(section.rawValue, at: entry)
            out.storeLE(UInt64(out.count), at: entry + 8)
            out.storeLE(UInt64(bytes.count), at: entry + 16)
            out += bytes
            out.pad(to: 8)
        }
        out.appendLE(CRC32C.checksum(out))
        out += StoreFormat.indexEndMagic
        return out
    }

    private static func encodeBlocks(_ blocks: [BlockRecord]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(blocks.count * 48)
        for b in blocks {
            out.appendLE(b.offset)
            out.appendLE(b.storedLength)
            out.append(b.kind.rawValue)
            out += [0, 0, 0]
            out.appendLE(b.itemCount)
            out.appendLE(b.uncompressedLength)
            out.appendLE(b.minTime)
            out.appendLE(b.maxTime)
            out.appendLE(b.crc)
            out.appendLE(UInt32(0))
        }
        return out
    }

    private static func encodeStrings(_ strings: [String]) -> [UInt8] {
        var out: [UInt8] = []
        out.appendLE(UInt32(strings.count))
        var offset: UInt32 = 0
        out.appendLE(offset)
        for s in strings {
            offset += UInt32(s.utf8.count)
            out.appendLE(offset)
        }
        for s in strings { out += s.utf8 }
        return out
    }

    private static func encodePairs(_ pairs: [PairStats]) -> [UInt8] {
        var out: [UInt8] = []
        for p in pairs {
            out.appendLE(p.service)
            out.appendLE(p.operation)
            out.appendLE(p.minTime == .max ? 0 : p.minTime)
            out.appendLE(p.maxTime)
            out.appendLE(p.spanCount)
            out.appendLE(p.errorCount)
        }
        return out
    }
}
