/// Lowercase hex for ids and bytes (JSON ids, the debug formatter, the query API, exemplars):
/// the one implementation the modules share.
public enum Hex {
    public static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Lowercase hex of `data`.
    public static func string(_ data: UnsafeRawBufferPointer) -> String {
        var out: [UInt8] = []
        encode(data, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public static func string(_ data: [UInt8]) -> String { data.withUnsafeBytes { string($0) } }

    /// Appends lowercase hex of `data` to `out`.
    public static func encode(_ data: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        out.reserveCapacity(out.count + data.count * 2)
        for b in data {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
    }

    /// The value of a hex digit (either case), or nil.
    @inline(__always)
    static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Decodes hex text (either case) into `out`; false on an odd length or a non-hex digit.
    static func decode(_ text: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Bool {
        guard text.count == out.count * 2 else { return false }
        return nibbles.withUnsafeBufferPointer { table in
            var bad: UInt8 = 0
            for i in 0..<out.count {
                let hi = table[Int(text[2 * i])], lo = table[Int(text[2 * i + 1])]
                bad |= hi | lo
                out[i] = hi << 4 | lo & 15
            }
            return bad & 0xF0 == 0
        }
    }

    /// Each byte's value as a hex digit (either case), 0xFF for the others.
    private static let nibbles: [UInt8] = (0...255).map { value(UInt8($0)) ?? 0xFF }
}
