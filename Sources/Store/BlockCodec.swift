/// Builds blocks from payloads and checks and decompresses them back (layout in `StoreFormat`).
enum BlockCodec {
    /// A complete block (header + zstd payload) for `payload`.
    static func encode(
        kind: BlockKind, payload: UnsafeRawBufferPointer, itemCount: Int, minTime: UInt64, maxTime: UInt64,
        compressor: ZstdCompressor
    ) throws(StoreError) -> (bytes: [UInt8], header: BlockHeader) {
        let headerSize = StoreFormat.blockHeaderSize
        let capacity = headerSize + ZstdCompressor.bound(payload.count)
        var header = BlockHeader(kind: kind, payloadLength: 0, uncompressedLength: UInt32(payload.count),
                                 itemCount: UInt32(itemCount), minTime: minTime, maxTime: maxTime)
        var failure: StoreError?
        let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            do throws(StoreError) {
                let n = try compressor.compress(payload, into: UnsafeMutableRawBufferPointer(rebasing: raw[headerSize...]))
                header.payloadLength = UInt32(n)
                header.crc = BlockHeader.write(
                    header, into: raw, payload: UnsafeRawBufferPointer(rebasing: raw[headerSize..<(headerSize + n)]))
                initialized = headerSize + n
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return (bytes, header)
    }

    /// Checks the block at the start of `bytes` (which may extend past it) and decompresses
    /// its payload. Throws what is wrong: a bad header, a block running past the end of
    /// `bytes`, a checksum mismatch or a bad zstd frame.
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(BlockProblem) -> (header: BlockHeader, payload: [UInt8]) {
        let header = try BlockHeader.parse(bytes)
        guard header.storedLength <= bytes.count else {
            throw BlockProblem("block of \(header.storedLength) bytes runs past the end of the file (\(bytes.count) bytes left)")
        }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[StoreFormat.blockHeaderSize..<header.storedLength])
        guard BlockHeader.checksumMatches(bytes, payload: payload, crc: header.crc) else {
            throw BlockProblem("block checksum mismatch")
        }
        switch Zstd.decompress(payload, size: Int(header.uncompressedLength)) {
        case .success(let out): return (header, out)
        case .failure(let failure): throw BlockProblem(failure.reason)
        }
    }
}
