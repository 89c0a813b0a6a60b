import OTLPCodec

/// Appends compact JSON text to a byte buffer: the writer behind every JSON answer of the
/// query API (Jaeger traces, Tempo search results, error envelopes).
///
/// Strings are escaped like Go's `encoding/json` without HTML escaping: `\"`, `\\`,
/// `\n \r \t \b \f`, other control characters as `\u00XX`; everything else is written as
/// UTF-8. Invalid UTF-8 coming from the wire (C strings of decoded OTLP) is repaired to U+FFFD
/// first, so the output is always valid JSON. Commas are the caller's business: `comma(&first)`
/// between members.
struct JSONOutput {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    /// Text that is already JSON (punctuation, keys known to need no escaping, nested output).
    mutating func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    mutating func raw(_ json: [UInt8]) {
        bytes.append(contentsOf: json)
    }

    mutating func byte(_ b: UInt8) {
        bytes.append(b)
    }

    /// `,` unless this is the first member or element (then clears `first`).
    mutating func comma(_ first: inout Bool) {
        if first { first = false } else { bytes.append(UInt8(ascii: ",")) }
    }

    /// `"key":`, escaped.
    mutating func key(_ key: String) {
        string(key)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for b in value.utf8 {
            switch b {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0x08: raw("\\b")
            case 0x0C: raw("\\f")
            case 0..<0x20:
                raw("\\u00")
                bytes.append(Hex.digits[Int(b >> 4)])
                bytes.append(Hex.digits[Int(b & 15)])
            default:
                bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A NUL-terminated C string (nil: `""`), repairing invalid UTF-8.
    mutating func string(cString: UnsafePointer<CChar>?) {
        string(Self.text(cString))
    }

    mutating func int(_ value: Int64) {
        raw(String(value))
    }

    mutating func uint(_ value: UInt64) {
        raw(String(value))
    }

    /// A JSON number; `NaN` and the infinities (not valid JSON numbers) are written as the
    /// strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
    mutating func double(_ value: Double) {
        if value.isNaN {
            raw("\"NaN\"")
        } else if value.isInfinite {
            raw(value < 0 ? "\"-Infinity\"" : "\"Infinity\"")
        } else {
            raw(value.description)
        }
    }

    mutating func bool(_ value: Bool) {
        raw(value ? "true" : "false")
    }

    mutating func null() {
        raw("null")
    }

    /// The text of a C string, invalid UTF-8 repaired (nil: "").
    static func text(_ cString: UnsafePointer<CChar>?) -> String {
        guard let cString else { return "" }
        return String(cString: cString)
    }

    private static let base64Digits: [UInt8] =
        Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Standard base64 with padding (Jaeger's `binary` tag values).
    static func base64(_ data: UnsafeRawBufferPointer) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((data.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= data.count {
            let n = UInt32(data[i]) << 16 | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2])
            for shift in [18, 12, 6, 0] as [UInt32] { out.append(base64Digits[Int(n >> shift & 63)]) }
            i += 3
        }
        let rest = data.count - i
        if rest > 0 {
            let n = UInt32(data[i]) << 16 | (rest == 2 ? UInt32(data[i + 1]) << 8 : 0)
            out.append(base64Digits[Int(n >> 18 & 63)])
            out.append(base64Digits[Int(n >> 12 & 63)])
            out.append(rest == 2 ? base64Digits[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }
}
