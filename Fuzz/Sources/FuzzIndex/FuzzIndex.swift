import Checksums
import FuzzSupport
@testable import FuzzStoreSupport
import OTLPCodec
@testable import Store

/// A sealed segment's index file from disk (`SealedIndex`: `parse` when the store opens, then
/// the lookups that trust what `parse` checked: bloom filter, binary search, trace records,
/// block records, search candidates).
///
/// Input: flags (bit 0: repair the trailer checksum so the fuzzer gets past it; bit 1: expect
/// the sequence the header names instead of 1), then the file. Oracles: no crash and no read
/// outside the mapping for any file `parse` accepts.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIndex(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let flags = input.byte()
    var bytes = input.rest()
    let trailer = StoreFormat.indexTrailerSize
    if flags & 1 != 0, bytes.count >= StoreFormat.indexHeaderSize + trailer {
        let end = bytes.count - trailer
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<end])) }
        for i in 0..<4 { bytes[end + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
    }
    var sequence: UInt64 = 1
    if flags & 2 != 0, bytes.count >= 16 {
        sequence = (0..<8).reduce(0) { $0 | UInt64(bytes[8 + $1]) << (8 * UInt64($1)) }
    }
    if case .success(let index) = IndexCheck.open(bytes, sequence: sequence) {
        IndexCheck.exercise(index, ids: IndexCheck.ids(index))
    }
    return 0
}
