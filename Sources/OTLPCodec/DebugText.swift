internal import CProtobufC
internal import OTLPProto

typealias CAnyValue = Opentelemetry__Proto__Common__V1__AnyValue
typealias CKeyValue = Opentelemetry__Proto__Common__V1__KeyValue

/// The text buffer `DebugFormatter` writes into, with the rendering rules of its format
/// (documented on `DebugFormatter`): quoted strings are JSON string literals, keys are bare
/// when they are simple, values carry their type (`Str("a")`, `Int(1)`), ids are lowercase hex.
struct DebugText {
    var json = JSONWriter(capacity: 4096)

    var string: String { String(decoding: json.out, as: UTF8.self) }

    mutating func text(_ s: String) {
        json.out.append(contentsOf: s.utf8)
    }

    mutating func newline() { json.byte(0x0A) }

    mutating func indent(_ level: Int) {
        for _ in 0..<level { json.raw("  ") }
    }

    /// `<indent><label>: ` (the value follows).
    mutating func label(_ level: Int, _ name: String) {
        indent(level)
        text(name)
        json.raw(": ")
    }

    /// A full `<indent><label>: <value>` line with a preformatted value.
    mutating func line(_ level: Int, _ name: String, _ value: String) {
        label(level, name)
        text(value)
        newline()
    }

    /// A C string as a JSON string literal (nil: `""`).
    mutating func quoted(_ s: UnsafePointer<CChar>?) {
        json.string(cString: s)
    }

    mutating func quotedLine(_ level: Int, _ name: String, _ s: UnsafePointer<CChar>?) {
        label(level, name)
        quoted(s)
        newline()
    }

    /// An id as lowercase hex; `<empty>` when it has no bytes.
    mutating func id(_ data: ProtobufCBinaryData) {
        guard data.len > 0, let bytes = data.data else {
            json.raw("<empty>")
            return
        }
        Hex.encode(UnsafeRawBufferPointer(start: bytes, count: data.len), into: &json.out)
    }

    mutating func idLine(_ level: Int, _ name: String, _ data: ProtobufCBinaryData) {
        label(level, name)
        id(data)
        newline()
    }

    /// `1700000000123456789 (2023-11-14T22:13:20.123456789Z)`.
    mutating func timestampLine(_ level: Int, _ name: String, _ nanos: UInt64) {
        label(level, name)
        json.decimal(nanos)
        json.raw(" (")
        text(RFC3339.format(nanos: nanos))
        json.raw(")")
        newline()
    }

    /// An enum value's name from the schema, or its number when unknown.
    mutating func enumName(_ value: Int32, _ enumeration: Int) {
        if enumeration >= 0, let name = OTLPSchema.shared.enums[enumeration].name(of: value) {
            json.out.append(contentsOf: name)
        } else {
            json.decimal(Int64(value))
        }
    }

    // MARK: Keys and values

    /// A map or attribute key: bare when it is non-empty and made of letters, digits and
    /// `_ . - / @`; otherwise a JSON string literal.
    mutating func key(_ s: UnsafePointer<CChar>?) {
        guard let s, s[0] != 0 else {
            json.raw("\"\"")
            return
        }
        var i = 0
        var simple = true
        while s[i] != 0 {
            let c = UInt8(bitPattern: s[i])
            let ok = (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_") || c == UInt8(ascii: ".")
                || c == UInt8(ascii: "-") || c == UInt8(ascii: "/") || c == UInt8(ascii: "@")
            if !ok {
                simple = false
                break
            }
            i += 1
        }
        if simple {
            json.out.append(contentsOf: UnsafeRawBufferPointer(start: s, count: strlenBytes(s)))
        } else {
            json.string(cString: s)
        }
    }

    /// One `-> key: Value` line per attribute, in received order.
    mutating func attributes(_ level: Int, _ count: Int, _ list: UnsafeMutablePointer<UnsafeMutablePointer<CKeyValue>?>?) {
        guard let list else { return }
        for i in 0..<count {
            guard let kv = list[i] else { continue }
            indent(level)
            json.raw("-> ")
            key(kv.pointee.key)
            json.raw(": ")
            typedValue(kv.pointee.value)
            newline()
        }
    }

    /// `Str("a")`, `Bool(true)`, `Int(-3)`, `Double(1.5)`, `Bytes(00ff)`,
    /// `Array(["a", 1])`, `Map({k: "v"})`, `Empty()`, `StrIndex(4)`.
    mutating func typedValue(_ value: UnsafeMutablePointer<CAnyValue>?) {
        guard let v = value?.pointee else {
            json.raw("Empty()")
            return
        }
        switch v.value_case {
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
            json.raw("Str(")
            quoted(v.string_value)
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
            json.raw("Bool(")
            bareValue(value)
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
            json.raw("Int(")
            bareValue(value)
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
            json.raw("Double(")
            bareValue(value)
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
            bareValue(value)
            return
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
            json.raw("Array(")
            bareValue(value)
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
            json.raw("Map(")
            bareValue(value)
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX:
            bareValue(value)
            return
        default:
            json.raw("Empty()")
            return
        }
        json.raw(")")
    }

    /// The compact form used inside arrays and maps: `"a"`, `true`, `-3`, `1.5` (a double
    /// always shows a `.`, an exponent, `NaN`, `+Inf` or `-Inf`), `Bytes(00ff)`, `[..]`,
    /// `{k: v, ..}`, `Empty()`, `StrIndex(4)`. Elements are separated by `, `.
    mutating func bareValue(_ value: UnsafeMutablePointer<CAnyValue>?) {
        guard let v = value?.pointee else {
            json.raw("Empty()")
            return
        }
        switch v.value_case {
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
            quoted(v.string_value)
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
            if v.bool_value != 0 { json.raw("true") } else { json.raw("false") }
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
            json.decimal(v.int_value)
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
            double(v.double_value)
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
            json.raw("Bytes(")
            if v.bytes_value.len > 0, let data = v.bytes_value.data {
                Hex.encode(UnsafeRawBufferPointer(start: data, count: v.bytes_value.len), into: &json.out)
            }
            json.raw(")")
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
            json.raw("[")
            if let array = v.array_value?.pointee, let values = array.values {
                for i in 0..<array.n_values {
                    if i > 0 { json.raw(", ") }
                    bareValue(values[i])
                }
            }
            json.raw("]")
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
            json.raw("{")
            if let map = v.kvlist_value?.pointee, let values = map.values {
                for i in 0..<map.n_values {
                    if i > 0 { json.raw(", ") }
                    key(values[i]?.pointee.key)
                    json.raw(": ")
                    bareValue(values[i]?.pointee.value)
                }
            }
            json.raw("}")
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX:
            json.raw("StrIndex(")
            json.decimal(Int64(v.string_value_strindex))
            json.raw(")")
        default:
            json.raw("Empty()")
        }
    }

    /// Shortest round-trip decimal (always with `.` or an exponent), `NaN`, `+Inf`, `-Inf`.
    mutating func double(_ d: Double) {
        if d.isNaN {
            json.raw("NaN")
        } else if d.isInfinite {
            if d < 0 { json.raw("-Inf") } else { json.raw("+Inf") }
        } else {
            text(d.description)
        }
    }
}
