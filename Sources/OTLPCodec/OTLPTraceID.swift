/// A 16-byte OTLP trace id, kept as two big-endian halves so that `<` is the byte order
/// (what a sorted on-disk id table needs) and hashing costs two words.
///
/// The all-zero id is invalid in OTLP ("no trace"), so the failable initializers reject it.
public struct OTLPTraceID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Bytes 0-7, big-endian.
    public var high: UInt64
    /// Bytes 8-15, big-endian.
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The id in `bytes`: exactly 16 bytes, not all zero.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { high = high << 8 | UInt64(b) } else { low = low << 8 | UInt64(b) }
        }
        guard high != 0 || low != 0 else { return nil }
        self.init(high: high, low: low)
    }

    /// The id in 32 hex digits (either case), as written in URLs and OTLP JSON.
    public init?(hex: String) {
        var text = hex
        var out = [UInt8](repeating: 0, count: 16)
        let ok = text.withUTF8 { t in
            out.withUnsafeMutableBytes { Hex.decode(UnsafeRawBufferPointer(t), into: $0) }
        }
        guard ok else { return nil }
        self.init(bytes: out)
    }

    /// The id at `range` of `bytes` when that is a valid id (16 bytes, not all zero).
    public init?(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
        guard range.count == 16 else { return nil }
        let high = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: range.lowerBound, as: UInt64.self))
        let low = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: range.lowerBound + 8, as: UInt64.self))
        guard high != 0 || low != 0 else { return nil }
        self.init(high: high, low: low)
    }

    /// The 16 bytes.
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            out[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * i))
            out[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * i))
        }
        return out
    }

    /// 32 lowercase hex digits.
    public var hex: String {
        var out: [UInt8] = []
        bytes.withUnsafeBytes { Hex.encode($0, into: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }

    public static func < (a: OTLPTraceID, b: OTLPTraceID) -> Bool {
        a.high != b.high ? a.high < b.high : a.low < b.low
    }
}

/// An 8-byte span id as a big-endian integer; 0 means "none" (absent or not 8 bytes).
enum OTLPSpanIDValue {
    static func read(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> UInt64 {
        guard range.count == 8 else { return 0 }
        return UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: range.lowerBound, as: UInt64.self))
    }
}
