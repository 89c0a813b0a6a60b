internal import CZstd

/// A reusable zstd compression context. Not thread-safe: owned by the store's serial writer
/// (it lives inside the writer's Mutex-protected state).
final class ZstdCompressor {
    private let context: OpaquePointer
    let level: Int32

    init(level: Int) {
        context = ZSTD_createCCtx()
        self.level = Int32(level)
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Worst-case compressed size of `count` bytes.
    static func bound(_ count: Int) -> Int { ZSTD_compressBound(count) }

    /// Compresses `source` into `destination` (at least `bound(source.count)` bytes); returns
    /// the compressed size.
    func compress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) throws(StoreError) -> Int {
        let n = ZSTD_compressCCtx(context, destination.baseAddress, destination.count,
                                  source.baseAddress, source.count, level)
        if ZSTD_isError(n) != 0 {
            throw StoreError.invalidPayload("zstd compression failed: \(String(cString: ZSTD_getErrorName(n)))")
        }
        return n
    }
}

/// Stateless zstd decompression (thread-safe).
enum Zstd {
    /// Decompresses one frame whose content is exactly `size` bytes; a failure (with the
    /// reason) when the frame is bad or holds another size.
    static func decompress(_ source: UnsafeRawBufferPointer, size: Int) -> Result<[UInt8], ZstdFailure> {
        var failure: String?
        let out = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            let n = ZSTD_decompress(buffer.baseAddress, size, source.baseAddress, source.count)
            if ZSTD_isError(n) != 0 {
                failure = "zstd: \(String(cString: ZSTD_getErrorName(n)))"
                initialized = 0
            } else if n != size {
                failure = "zstd: frame holds \(n) bytes, header says \(size)"
                initialized = 0
            } else {
                initialized = size
            }
        }
        if let failure { return .failure(ZstdFailure(reason: failure)) }
        return .success(out)
    }
}

struct ZstdFailure: Error {
    var reason: String
}
