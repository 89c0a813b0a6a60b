/// The store's block framing (header, lengths, CRC32C; layout in `StoreFormat`) for other
/// write-ahead files that want the same torn-write detection: the tail sampler's span hold.
///
/// Frames written here carry *uncompressed* payloads (flags 0) plus the caller's flag bits
/// above bit 0; `StoreFormat`'s segments never contain them (their blocks are always zstd),
/// and the store's own parser rejects them.
public enum BlockFrame {
    public static let headerSize = StoreFormat.blockHeaderSize

    /// Appends one frame holding `payload` to `out`. `flags` must not have bit 0 (zstd) set.
    public static func append(kind: BlockKind, flags: UInt16, payload: UnsafeRawBufferPointer, itemCount: Int,
                              minTime: UInt64, maxTime: UInt64, to out: inout [UInt8]) {
        precondition(flags & StoreFormat.flagZstd == 0, "BlockFrame payloads are uncompressed")
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: headerSize))
        out.append(contentsOf: payload)
        let header = BlockHeader(kind: kind, flags: flags, payloadLength: UInt32(payload.count),
                                 uncompressedLength: UInt32(payload.count), itemCount: UInt32(itemCount),
                                 minTime: minTime, maxTime: maxTime)
        out.withUnsafeMutableBytes { buffer in
            let whole = UnsafeMutableRawBufferPointer(rebasing: buffer[start...])
            BlockHeader.write(header, into: whole, payload: UnsafeRawBufferPointer(rebasing: whole[headerSize...]))
        }
    }

    /// Writes the header of a frame in place: `frame` is `headerSize` bytes of room followed
    /// by the payload (which callers lay out with a gap in front, to frame without copying).
    public static func writeHeader(kind: BlockKind, flags: UInt16, itemCount: Int, minTime: UInt64, maxTime: UInt64,
                                   frame: UnsafeMutableRawBufferPointer) {
        precondition(flags & StoreFormat.flagZstd == 0, "BlockFrame payloads are uncompressed")
        let payloadLength = frame.count - headerSize
        let header = BlockHeader(kind: kind, flags: flags, payloadLength: UInt32(payloadLength),
                                 uncompressedLength: UInt32(payloadLength), itemCount: UInt32(itemCount),
                                 minTime: minTime, maxTime: maxTime)
        BlockHeader.write(header, into: frame, payload: UnsafeRawBufferPointer(rebasing: frame[headerSize...]))
    }

    /// What a frame says about itself.
    public struct Parsed: Sendable {
        public var kind: BlockKind
        public var flags: UInt16
        public var itemCount: Int
        public var minTime: UInt64
        public var maxTime: UInt64
        /// Where the payload lies in the bytes parsed.
        public var payload: Range<Int>
        /// Header and payload.
        public var length: Int
    }

    /// The frame at the start of `bytes`, checked (magic, version, lengths, CRC), or nil when
    /// it is incomplete or damaged: for a write-ahead file, the end of what was written.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Parsed? {
        guard bytes.count >= headerSize, bytes.matches(StoreFormat.blockMagic, at: 0),
              bytes[4] == StoreFormat.blockVersion, let kind = BlockKind(rawValue: bytes[5]) else { return nil }
        let flags: UInt16 = bytes.le(6)
        let length = Int(bytes.le(8, as: UInt32.self))
        guard flags & StoreFormat.flagZstd == 0, length == Int(bytes.le(12, as: UInt32.self)),
              bytes.count - headerSize >= length else { return nil }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[headerSize..<(headerSize + length)])
        guard BlockHeader.checksumMatches(bytes, payload: payload, crc: bytes.le(40)) else { return nil }
        return Parsed(kind: kind, flags: flags, itemCount: Int(bytes.le(16, as: UInt32.self)), minTime: bytes.le(24),
                      maxTime: bytes.le(32), payload: headerSize..<(headerSize + length), length: headerSize + length)
    }
}
