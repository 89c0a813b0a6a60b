internal import CZlib

/// Why ``Gzip/decompress(_:limit:)`` failed.
public struct GzipError: Error, Equatable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        private let value: Int
        private init(_ value: Int) { self.value = value }
        /// The output would exceed the limit (possibly a decompression bomb).
        public static let tooLarge = Code(1)
        /// The input is not valid gzip/zlib data or is truncated.
        public static let corrupt = Code(2)
    }

    public let code: Code
    public let description: String

    /// The output would exceed the limit.
    public var isTooLarge: Bool { code == .tooLarge }
    /// The input is not valid compressed data.
    public var isCorrupt: Bool { code == .corrupt }
}

/// gzip compression with zlib, for `grpc-encoding: gzip` and `Content-Encoding: gzip`.
/// Stateless and thread-safe.
public enum Gzip {
    /// Inflates gzip (or zlib) data, including concatenated gzip members.
    ///
    /// Memory is bounded by `limit`: output grows in steps and inflating stops as soon as more
    /// than `limit` bytes would be produced, so a small bomb cannot allocate unbounded memory.
    /// - Throws: ``GzipError`` with code `.tooLarge` or `.corrupt`.
    public static func decompress(_ input: some Collection<UInt8>, limit: Int) throws(GzipError) -> [UInt8] {
        let direct = input.withContiguousStorageIfAvailable { buffer in
            Result { () throws(GzipError) in try inflate(UnsafeRawBufferPointer(buffer), limit: limit) }
        }
        if let direct { return try direct.get() }
        let copied = Array(input).withUnsafeBytes { raw in
            Result { () throws(GzipError) in try inflate(raw, limit: limit) }
        }
        return try copied.get()
    }

    /// Deflates `input` into a gzip member (level 1...9, default 6).
    public static func compress(_ input: some Collection<UInt8>, level: Int = 6) -> [UInt8] {
        let bytes = Array(input)
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            deflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        // windowBits 15 + 16 selects the gzip wrapper.
        let rc = deflateInit2_(stream, Int32(level), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                               zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(rc == Z_OK, "deflateInit2 failed: \(rc)")
        var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, UInt(bytes.count))) + 32)
        var produced = 0
        bytes.withUnsafeBytes { source in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: source.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = UInt32(source.count)
            while true {
                if produced == output.count { output.append(contentsOf: repeatElement(0, count: output.count)) }
                let result = output.withUnsafeMutableBytes { target -> Int32 in
                    stream.pointee.next_out = target.baseAddress!.assumingMemoryBound(to: Bytef.self) + produced
                    stream.pointee.avail_out = UInt32(target.count - produced)
                    let result = deflate(stream, Z_FINISH)
                    produced = target.count - Int(stream.pointee.avail_out)
                    return result
                }
                if result == Z_STREAM_END { break }
                precondition(result == Z_OK || result == Z_BUF_ERROR, "deflate failed: \(result)")
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    private static func inflate(_ input: UnsafeRawBufferPointer, limit: Int) throws(GzipError) -> [UInt8] {
        guard input.count <= Int(UInt32.max) else { throw GzipError(code: .tooLarge, description: "compressed input too large") }
        // zlib keeps a pointer back to the stream, so it must not move: allocate it.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            inflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        // windowBits 15 + 32: accept gzip or zlib headers.
        guard inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw GzipError(code: .corrupt, description: "inflateInit2 failed")
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(input.count)
        let cap = limit + 1  // one byte more than allowed proves "too large"
        var output = [UInt8](repeating: 0, count: min(cap, max(input.count * 4, 16 * 1024)))
        var produced = 0
        while true {
            if produced == output.count {
                if output.count >= cap {
                    throw GzipError(code: .tooLarge, description: "decompressed size exceeds \(limit) bytes")
                }
                output.append(contentsOf: repeatElement(0, count: min(cap, output.count * 2) - output.count))
            }
            let result = output.withUnsafeMutableBytes { target -> Int32 in
                stream.pointee.next_out = target.baseAddress!.assumingMemoryBound(to: Bytef.self) + produced
                stream.pointee.avail_out = UInt32(target.count - produced)
                let result = CZlib.inflate(stream, Z_NO_FLUSH)
                produced = target.count - Int(stream.pointee.avail_out)
                return result
            }
            if produced > limit {
                throw GzipError(code: .tooLarge, description: "decompressed size exceeds \(limit) bytes")
            }
            switch result {
            case Z_STREAM_END:
                if stream.pointee.avail_in == 0 {
                    output.removeSubrange(produced...)
                    return output
                }
                // Another gzip member follows.
                guard inflateReset(stream) == Z_OK else { throw GzipError(code: .corrupt, description: "inflateReset failed") }
            case Z_OK:
                if stream.pointee.avail_in == 0 && produced < output.count {
                    throw GzipError(code: .corrupt, description: "truncated gzip data")
                }
            case Z_BUF_ERROR:
                if produced < output.count {
                    throw GzipError(code: .corrupt, description: "truncated gzip data")
                }
            case Z_MEM_ERROR:
                throw GzipError(code: .tooLarge, description: "zlib out of memory")
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "error \(result)"
                throw GzipError(code: .corrupt, description: "invalid gzip data: \(message)")
            }
        }
    }
}
