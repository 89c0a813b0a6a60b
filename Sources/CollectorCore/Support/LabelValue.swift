/// Label values in the Prometheus text form, which Loki's stream selectors share:
/// `name="value"` with `\`, `"` and newline escaped as `\\`, `\"` and `\n`. Works on UTF-8
/// bytes (the three escaped characters are ASCII, so multi-byte sequences pass unchanged).
public enum LabelValue {
    public static func appendEscaped(_ value: some Sequence<UInt8>, to out: inout [UInt8]) {
        for b in value {
            switch b {
            case UInt8(ascii: "\\"): out += [0x5C, 0x5C]
            case UInt8(ascii: "\""): out += [0x5C, 0x22]
            case UInt8(ascii: "\n"): out += [0x5C, UInt8(ascii: "n")]
            default: out.append(b)
            }
        }
    }

    public static func escaped(_ value: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        appendEscaped(value.utf8, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
