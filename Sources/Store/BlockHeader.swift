import Checksums
/// What a block holds.
public enum BlockKind: UInt8, Sendable, Hashable, CustomStringConvertible {
    /// A serialized OTLP `ExportTraceServiceRequest`.
    case spans = 1
    /// A serialized OTLP `ExportLogsServiceRequest`.
    case logs = 2

    public var description: String { self == .spans ? "spans" : "logs" }
}

/// The 44-byte header in front of every block's payload (layout in `StoreFormat`).
struct BlockHeader: Hashable {
    var kind: BlockKind
    var flags: UInt16 = StoreFormat.flagZstd
    var payloadLength: UInt32
    var uncompressedLength: UInt32
    var itemCount: UInt32
    var minTime: UInt64
    var maxTime: UInt64
    var crc: UInt32 = 0

    var storedLength: Int { StoreFormat.blockHeaderSize + Int(payloadLength) }

    /// Writes the header into `buffer[0..<44]`, with the CRC of the header fields and
    /// `payload`, and returns that CRC.
    @discardableResult
    static func write(_ header: BlockHeader, into buffer: UnsafeMutableRawBufferPointer, payload: UnsafeRawBufferPointer) -> UInt32 {
        for (i, b) in StoreFormat.blockMagic.enumerated() { buffer[i] = b }
        buffer[4] = StoreFormat.blockVersion
        buffer[5] = header.kind.rawValue
        buffer.storeBytes(of: header.flags.littleEndian, toByteOffset: 6, as: UInt16.self)
        buffer.storeBytes(of: header.payloadLength.littleEndian, toByteOffset: 8, as: UInt32.self)
        buffer.storeBytes(of: header.uncompressedLength.littleEndian, toByteOffset: 12, as: UInt32.self)
        buffer.storeBytes(of: header.itemCount.littleEndian, toByteOffset: 16, as: UInt32.self)
        buffer.storeBytes(of: UInt32(0), toByteOffset: 20, as: UInt32.self)
        buffer.storeBytes(of: header.minTime.littleEndian, toByteOffset: 24, as: UInt64.self)
        buffer.storeBytes(of: header.maxTime.littleEndian, toByteOffset: 32, as: UInt64.self)
        let crc = CRC32C.update(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buffer[0..<40])), payload)
        buffer.storeBytes(of: crc.littleEndian, toByteOffset: 40, as: UInt32.self)
        return crc
    }

    /// Parses and checks the header at the start of `bytes` (at least 44 bytes): magic,
    /// version, kind, flags, reserved field and the size limit. Lengths against the file and
    /// the CRC are checked by the caller. Throws the reason.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(BlockProblem) -> BlockHeader {
        guard bytes.count >= StoreFormat.blockHeaderSize else { throw BlockProblem("truncated block header") }
        guard bytes.matches(StoreFormat.blockMagic, at: 0) else { throw BlockProblem("bad block magic") }
        guard bytes[4] == StoreFormat.blockVersion else { throw BlockProblem("unknown block version \(bytes[4])") }
        guard let kind = BlockKind(rawValue: bytes[5]) else { throw BlockProblem("unknown block kind \(bytes[5])") }
        let flags: UInt16 = bytes.le(6)
        guard flags == StoreFormat.flagZstd else { throw BlockProblem("unknown block flags \(flags)") }
        guard bytes.le(20, as: UInt32.self) == 0 else { throw BlockProblem("reserved block field is not zero") }
        let header = BlockHeader(kind: kind, flags: flags, payloadLength: bytes.le(8), uncompressedLength: bytes.le(12),
                                 itemCount: bytes.le(16), minTime: bytes.le(24), maxTime: bytes.le(32), crc: bytes.le(40))
        guard Int(header.uncompressedLength) <= StoreFormat.maxUncompressedBlock else {
            throw BlockProblem("block claims \(header.uncompressedLength) uncompressed bytes")
        }
        return header
    }

    /// Whether `crc` matches the header fields (`bytes[0..<40]`) and `payload`.
    static func checksumMatches(_ bytes: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, crc: UInt32) -> Bool {
        CRC32C.update(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<40])), payload) == crc
    }
}

/// Why a block (or header) is unusable.
struct BlockProblem: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// The 32-byte file header of a segment (layout in `StoreFormat`).
struct SegmentHeader: Hashable {
    var sequence: UInt64
    var created: UInt64

    func encoded() -> [UInt8] {
        var out = StoreFormat.segmentMagic
        out.appendLE(StoreFormat.version)
        out.appendLE(UInt16(0))
        out.appendLE(sequence)
        out.appendLE(created)
        out.appendLE(CRC32C.checksum(out))
        out.appendLE(UInt32(0))
        return out
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) throws(BlockProblem) -> SegmentHeader {
        guard bytes.count >= StoreFormat.segmentHeaderSize else { throw BlockProblem("truncated segment header") }
        guard bytes.matches(StoreFormat.segmentMagic, at: 0) else { throw BlockProblem("bad segment magic") }
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<24])) == bytes.le(24, as: UInt32.self) else {
            throw BlockProblem("segment header checksum mismatch")
        }
        let version: UInt16 = bytes.le(4)
        guard version == StoreFormat.version else { throw BlockProblem("unknown segment version \(version)") }
        return SegmentHeader(sequence: bytes.le(8), created: bytes.le(16))
    }
}
