import OTLPCodec

/// Rebuilds a segment's index by reading every block, for recovery (see "Recovery" in
/// `StoreFormat`). It only reads; the caller decides whether to truncate the bad tail it
/// reports (unsealed segments) or just to report it (sealed segments are never rewritten).
///
/// A block is good when its header parses, it fits in the file, its CRC matches, its zstd
/// frame decompresses to the stated size, the payload is a well-formed OTLP request and it
/// holds the stated item count. After a bad block, the scanner looks for the next good one
/// (the next block magic whose block is good): found, the bad bytes are a skipped range;
/// not found, they are the tail.
enum SegmentScanner {
    struct Skipped: Hashable {
        var offset: UInt64
        var bytes: UInt64
        var reason: String
    }

    struct Scan {
        var header: SegmentHeader
        var index: MemoryIndex
        var fileSize: UInt64
        /// Bad ranges followed by good blocks.
        var skipped: [Skipped] = []
        /// Why the bytes from `index.dataLength` to `fileSize` are bad (nil when there are none).
        var tailReason: String?
    }

    enum Outcome {
        case scanned(Scan)
        /// The file header is unusable: nothing in the file can be trusted.
        case badHeader(reason: String, fileSize: UInt64)
    }

    static func scan(_ file: SegmentFile, expectedSequence: UInt64) throws(StoreError) -> Outcome {
        let size = try file.size()
        guard size >= UInt64(StoreFormat.segmentHeaderSize) else {
            return .badHeader(reason: "file of \(size) bytes has no complete header", fileSize: size)
        }
        let mapped = try MappedFile(file, length: Int(size))
        return mapped.withBytes { bytes in scan(bytes, expectedSequence: expectedSequence) }
    }

    static func scan(_ bytes: UnsafeRawBufferPointer, expectedSequence: UInt64) -> Outcome {
        let size = UInt64(bytes.count)
        let header: SegmentHeader
        do throws(BlockProblem) {
            header = try SegmentHeader.parse(bytes)
        } catch {
            return .badHeader(reason: error.reason, fileSize: size)
        }
        guard header.sequence == expectedSequence else {
            return .badHeader(reason: "header says segment \(header.sequence)", fileSize: size)
        }
        var result = Scan(header: header, index: MemoryIndex(dataLength: UInt64(StoreFormat.segmentHeaderSize)), fileSize: size)
        var position = StoreFormat.segmentHeaderSize
        while position < bytes.count {
            switch check(bytes, at: position) {
            case .success(let (record, facts)):
                result.index.add(record, facts)
                position += Int(record.storedLength)
            case .failure(let problem):
                guard let next = findNext(bytes, after: position) else {
                    result.tailReason = problem.reason
                    result.index.dataLength = UInt64(position)
                    return .scanned(result)
                }
                result.skipped.append(Skipped(offset: UInt64(position), bytes: UInt64(next - position), reason: problem.reason))
                position = next
            }
        }
        result.index.dataLength = UInt64(position)
        return .scanned(result)
    }

    /// Checks the block at `position` completely.
    static func check(_ bytes: UnsafeRawBufferPointer, at position: Int) -> Result<(BlockRecord, BlockFacts), BlockProblem> {
        let rest = UnsafeRawBufferPointer(rebasing: bytes[position...])
        do throws(BlockProblem) {
            let (header, payload) = try BlockCodec.decode(rest)
            let facts: BlockFacts
            do throws(OTLPDecodeError) {
                facts = try payload.withBytes { (raw) throws(OTLPDecodeError) in try BlockFacts(header.kind, raw) }
            } catch {
                throw BlockProblem(error.message)
            }
            guard facts.itemCount == Int(header.itemCount) else {
                throw BlockProblem("block says \(header.itemCount) items, payload holds \(facts.itemCount)")
            }
            let record = BlockRecord(
                offset: UInt64(position), storedLength: UInt32(header.storedLength), kind: header.kind,
                itemCount: header.itemCount, uncompressedLength: header.uncompressedLength,
                minTime: header.minTime, maxTime: header.maxTime, crc: header.crc)
            return .success((record, facts))
        } catch {
            return .failure(error)
        }
    }

    /// The offset of the next good block after `position`, if any.
    static func findNext(_ bytes: UnsafeRawBufferPointer, after position: Int) -> Int? {
        let first = StoreFormat.blockMagic[0]
        var candidate = position + 1
        while candidate + StoreFormat.blockHeaderSize <= bytes.count {
            if bytes[candidate] == first, bytes.matches(StoreFormat.blockMagic, at: candidate),
               case .success = check(bytes, at: candidate) {
                return candidate
            }
            candidate += 1
        }
        return nil
    }
}
