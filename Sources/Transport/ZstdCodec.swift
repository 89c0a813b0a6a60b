internal import CZstd

/// zstd for `grpc-encoding: zstd` (the name gRPC implementations and the OTel Collector register
/// their zstd compressor under). Stateless and thread-safe; failures are ``GzipError`` values
/// (`.tooLarge`, `.corrupt`) so callers treat both encodings alike.
enum ZstdCodec {
    /// One zstd frame (level 3, zstd's default) holding `input`, with its size in the header.
    static func compress(_ input: [UInt8], level: Int32 = 3) -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var failed = false
        let output = [UInt8](unsafeUninitializedCapacity: bound) { buffer, initialized in
            let n = input.withUnsafeBytes { ZSTD_compress(buffer.baseAddress, bound, $0.baseAddress, $0.count, level) }
            failed = ZSTD_isError(n) != 0
            initialized = failed ? 0 : n
        }
        precondition(!failed, "ZSTD_compress cannot fail with a bound-sized output")
        return output
    }

    /// Decompresses every frame in `input`, stopping as soon as more than `limit` bytes would
    /// come out (a frame's declared size is not trusted).
    static func decompress(_ input: some Collection<UInt8>, limit: Int) throws(GzipError) -> [UInt8] {
        let bytes = Array(input)
        guard let stream = ZSTD_createDStream() else { throw GzipError(code: .tooLarge, description: "zstd: out of memory") }
        defer { ZSTD_freeDStream(stream) }
        var output: [UInt8] = []
        var scratch = [UInt8](repeating: 0, count: 64 * 1024)
        var failure: GzipError?
        var finished = false
        bytes.withUnsafeBytes { source in
            var inBuffer = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
            var outputFull = false
            repeat {
                scratch.withUnsafeMutableBytes { target in
                    var outBuffer = ZSTD_outBuffer(dst: target.baseAddress, size: target.count, pos: 0)
                    let hint = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
                    if ZSTD_isError(hint) != 0 {
                        failure = GzipError(code: .corrupt, description: "invalid zstd data: \(String(cString: ZSTD_getErrorName(hint)))")
                    } else if output.count + outBuffer.pos > limit {
                        failure = GzipError(code: .tooLarge, description: "decompressed size exceeds \(limit) bytes")
                    } else {
                        output.append(contentsOf: target.prefix(outBuffer.pos))
                        outputFull = outBuffer.pos == target.count  // more may be pending inside zstd
                        finished = hint == 0
                    }
                }
            } while failure == nil && (inBuffer.pos < inBuffer.size || outputFull)
        }
        if let failure { throw failure }
        guard finished else { throw GzipError(code: .corrupt, description: "truncated zstd data") }
        return output
    }
}
