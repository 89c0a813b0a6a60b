import FuzzSupport
@testable import FuzzStoreSupport
import OTLPCodec
@testable import Store

/// A segment file from disk, as recovery reads it (`SegmentScanner`: the file header, block
/// headers, lengths, CRC, zstd frames, the OTLP payloads, the search for the next good block
/// after a bad one), and the index rebuilt from it, written as an index file and read back.
///
/// Input: flags, then either the file (bit 1 clear; bit 0 repairs the header and block
/// checksums so the fuzzer gets past them) or, with bit 1 set, records the harness turns into
/// well-formed blocks: per block a kind byte (bit 0: logs; bit 1: a wrong item count), a
/// 2-byte payload length and the OTLP payload.
/// Oracles: the scan's ranges lie in the file and cover it without overlap; a well-formed
/// block whose payload validates is never skipped; the index of any scan writes an index file
/// that `SealedIndex` accepts and that answers every query as the memory index does.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSegment(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let flags = input.byte()
    var bytes: [UInt8]
    var good: Set<UInt64> = []
    if flags & 2 != 0 {
        (bytes, good) = build(&input)
    } else {
        bytes = input.rest()
        if flags & 1 != 0 { repair(&bytes) }
    }
    _ = bytes.withUnsafeBytes { BlockFrame.parse($0) }
    // The sequence the header names (the file name's, for recovery), so that any header can pass.
    let sequence = bytes.count >= 16 ? le64(bytes, 8) : 1
    let outcome = bytes.withUnsafeBytes { SegmentScanner.scan($0, expectedSequence: sequence) }
    guard case .scanned(let scan) = outcome else { return 0 }

    let index = scan.index
    require(index.dataLength <= scan.fileSize, "the index covers \(index.dataLength) of \(scan.fileSize) bytes")
    var position = UInt64(StoreFormat.segmentHeaderSize)
    var skipped = scan.skipped[...]
    for block in index.blocks {
        while let s = skipped.first, s.offset < block.offset {
            require(s.offset == position, "a skipped range at \(s.offset), expected \(position)")
            position += s.bytes
            skipped = skipped.dropFirst()
        }
        require(block.offset == position, "a block at \(block.offset), expected \(position)")
        position += UInt64(block.storedLength)
    }
    require(skipped.isEmpty && position == index.dataLength, "the scan's ranges end at \(position), not \(index.dataLength)")
    let found = Set(index.blocks.map(\.offset))
    require(good.isSubset(of: found), "good blocks at \(good.subtracting(found).sorted()) were not found")

    let file = IndexFile.encode(index, IndexFile.Header(sequence: sequence, created: scan.header.created, sealed: 2))
    switch IndexCheck.open(file, sequence: sequence) {
    case .success(let sealed): IndexCheck.compare(index, sealed)
    case .failure(let problem): require(false, "the index written from a scan is refused: \(problem.reason)")
    }
    return 0
}

/// Rewrites the file header and every block header that parses far enough with their
/// checksums (and the fixed fields) made right.
private func repair(_ bytes: inout [UInt8]) {
    guard bytes.count >= StoreFormat.segmentHeaderSize else { return }
    let header = SegmentHeader(sequence: le64(bytes, 8), created: le64(bytes, 16)).encoded()
    bytes.replaceSubrange(0..<header.count, with: header)
    var p = StoreFormat.segmentHeaderSize
    let size = StoreFormat.blockHeaderSize
    while p + size <= bytes.count {
        let length = Int(le32(bytes, p + 8))
        guard bytes[p..<(p + 4)].elementsEqual(StoreFormat.blockMagic), let kind = BlockKind(rawValue: bytes[p + 5]),
              length <= bytes.count - p - size else {
            p += 1
            continue
        }
        let block = BlockHeader(kind: kind, payloadLength: UInt32(length), uncompressedLength: le32(bytes, p + 12),
                                itemCount: le32(bytes, p + 16), minTime: le64(bytes, p + 24), maxTime: le64(bytes, p + 32))
        bytes.withUnsafeMutableBytes { all in
            let whole = UnsafeMutableRawBufferPointer(rebasing: all[p..<(p + size + length)])
            BlockHeader.write(block, into: whole, payload: UnsafeRawBufferPointer(rebasing: whole[size...]))
        }
        p += size + length
    }
}

/// A segment of well-formed blocks made from the input's records, and the offsets of those
/// that recovery must keep (payload valid, item count right).
private func build(_ input: inout FuzzInput) -> ([UInt8], Set<UInt64>) {
    var bytes = SegmentHeader(sequence: 1, created: 1_700_000_000_000_000_000).encoded()
    var good: Set<UInt64> = []
    while !input.isAtEnd {
        let kindByte = input.byte()
        let payload = input.take(Int(input.integer(bytes: 2)))
        let kind: BlockKind = kindByte & 1 == 0 ? .spans : .logs
        let counts = try? OTLPValidator.counts(kind == .spans ? .traces : .logs, protobuf: payload)
        let items = (counts?.items ?? 0) + Int(kindByte >> 1 & 1)
        guard let block = try? payload.withUnsafeBytes({ raw in
            try BlockCodec.encode(kind: kind, payload: raw, itemCount: items, minTime: 1, maxTime: 2, compressor: Compressor.shared)
        }) else { continue }
        if counts != nil && kindByte & 2 == 0 { good.insert(UInt64(bytes.count)) }
        bytes += block.bytes
    }
    return (bytes, good)
}

/// One zstd context for all runs (creating one per run was a fifth of the time).
private enum Compressor {
    // nonisolated(unsafe): libFuzzer runs the target on one thread.
    nonisolated(unsafe) static let shared = ZstdCompressor(level: 1)
}

private func le32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
    (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
}

private func le64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
    (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
}
