/// Appends JSON text to a byte buffer: escaped strings, integers, doubles, base64 and hex.
/// Output is compact (no whitespace) and always valid UTF-8: invalid UTF-8 in a source string
/// is replaced by U+FFFD.
struct JSONWriter {
    var out: [UInt8] = []

    init(capacity: Int = 0) {
        out.reserveCapacity(capacity)
    }

    @inline(__always) mutating func byte(_ b: UInt8) { out.append(b) }

    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    /// `"key":` for a key that needs no escaping (a field name in `names`).
    mutating func key(_ names: [UInt8], _ name: NameRef) {
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: names[name.range])
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }

    // MARK: Strings

    /// A JSON string literal with the bytes of `s`, escaped like Python's `json.dumps` with
    /// `ensure_ascii=False`: `\"`, `\\`, `\b \f \n \r \t`, other controls as `\u00xx`.
    mutating func string(_ s: UnsafeRawBufferPointer) {
        out.append(UInt8(ascii: "\""))
        var i = 0
        var runStart = 0
        let n = s.count
        while i < n {
            let b = s[i]
            if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") && b < 0x80 {
                i += 1
                continue
            }
            if b >= 0x80 {
                let length = UTF8Check.sequenceLength(s, at: i)
                if length > 0 {
                    i += length
                    continue
                }
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: s[runStart..<i]))
            if b >= 0x80 {
                out.append(contentsOf: [0xEF, 0xBF, 0xBD] as [UInt8])
            } else {
                escape(b)
            }
            i += 1
            runStart = i
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: s[runStart..<n]))
        out.append(UInt8(ascii: "\""))
    }

    /// A JSON string literal from a NUL-terminated C string (nil: `""`).
    mutating func string(cString: UnsafePointer<CChar>?) {
        guard let cString else {
            raw("\"\"")
            return
        }
        let length = strlenBytes(cString)
        string(UnsafeRawBufferPointer(start: UnsafeRawPointer(cString), count: length))
    }

    private mutating func escape(_ b: UInt8) {
        out.append(UInt8(ascii: "\\"))
        switch b {
        case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
        case 0x08: out.append(UInt8(ascii: "b"))
        case 0x0C: out.append(UInt8(ascii: "f"))
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        default:
            out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                    Hex.digits[Int(b >> 4)], Hex.digits[Int(b & 15)]])
        }
    }

    // MARK: Numbers

    mutating func decimal(_ value: UInt64) {
        if value < 10 {
            out.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch, 20 needed
        var v = value
        withUnsafeMutableBytes(of: &digits) { scratch in
            var i = scratch.count
            while v > 0 {
                i -= 1
                scratch[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[i...]))
        }
    }

    mutating func decimal(_ value: Int64) {
        if value < 0 {
            out.append(UInt8(ascii: "-"))
            decimal(value.magnitude)
        } else {
            decimal(UInt64(value))
        }
    }

    /// A proto3 JSON double: shortest round-trip decimal, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
    mutating func double(_ value: Double) {
        if value.isNaN {
            raw("\"NaN\"")
        } else if value.isInfinite {
            if value < 0 { raw("\"-Infinity\"") } else { raw("\"Infinity\"") }
        } else {
            out.append(contentsOf: value.description.utf8)
        }
    }

    mutating func float(_ value: Float) {
        if value.isNaN || value.isInfinite {
            double(Double(value))
        } else {
            out.append(contentsOf: value.description.utf8)
        }
    }

    // MARK: Binary

    /// A JSON string holding standard base64 (with padding) of `data`.
    mutating func base64(_ data: UnsafeRawBufferPointer) {
        out.append(UInt8(ascii: "\""))
        Base64.encode(data, into: &out)
        out.append(UInt8(ascii: "\""))
    }

    /// A JSON string holding lowercase hex of `data`.
    mutating func hex(_ data: UnsafeRawBufferPointer) {
        out.append(UInt8(ascii: "\""))
        Hex.encode(data, into: &out)
        out.append(UInt8(ascii: "\""))
    }
}

/// `strlen` without importing libc into this file's interface.
@inline(__always)
func strlenBytes(_ s: UnsafePointer<CChar>) -> Int {
    var n = 0
    while s[n] != 0 { n += 1 }
    return n
}
