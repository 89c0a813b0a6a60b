internal import CProtobufC
internal import OTLPProto

/// Writes Jaeger's typed key-values (`{"key":..,"type":..,"value":..}`) from OTLP attributes,
/// with the OpenTelemetry Collector's Jaeger translator mapping:
///
/// | OTLP `AnyValue` | Jaeger `type` | `value` |
/// |---|---|---|
/// | string | `string` | the string |
/// | bool | `bool` | `true` / `false` |
/// | int | `int64` | JSON number |
/// | double | `float64` | JSON number (`"NaN"`, `"Infinity"` as strings) |
/// | bytes | `binary` | standard base64 |
/// | array, kvlist | `string` | the value as compact JSON text (`["a",1]`, `{"k":"v"}`) |
/// | not set | `string` | `""` |
enum JaegerTags {
    /// Maximum nesting of arrays and maps rendered as JSON text; deeper values become `null`.
    static let maxDepth = 32

    static func string(_ out: inout JSONOutput, _ first: inout Bool, _ key: String, _ value: String) {
        out.comma(&first)
        out.raw("{\"key\":")
        out.string(key)
        out.raw(",\"type\":\"string\",\"value\":")
        out.string(value)
        out.byte(UInt8(ascii: "}"))
    }

    static func bool(_ out: inout JSONOutput, _ first: inout Bool, _ key: String, _ value: Bool) {
        out.comma(&first)
        out.raw("{\"key\":")
        out.string(key)
        out.raw(",\"type\":\"bool\",\"value\":")
        out.bool(value)
        out.byte(UInt8(ascii: "}"))
    }

    static func int(_ out: inout JSONOutput, _ first: inout Bool, _ key: String, _ value: Int64) {
        out.comma(&first)
        out.raw("{\"key\":")
        out.string(key)
        out.raw(",\"type\":\"int64\",\"value\":")
        out.int(value)
        out.byte(UInt8(ascii: "}"))
    }

    /// Every attribute in order, except `skip` (the resource's `service.name`).
    static func attributes(
        _ out: inout JSONOutput, _ first: inout Bool, _ count: Int, _ attributes: PBRepeated<PBKeyValue>,
        skip: String? = nil
    ) {
        forEach(count, attributes) { kv in
            let key = JSONOutput.text(kv.key)
            if let skip, key == skip { return }
            attribute(&out, &first, key, kv.value)
        }
    }

    /// One attribute as a typed tag (table above).
    static func attribute(_ out: inout JSONOutput, _ first: inout Bool, _ key: String, _ value: UnsafeMutablePointer<PBAnyValue>?) {
        guard let value = value?.pointee else { return string(&out, &first, key, "") }
        switch value.value_case.rawValue {
        case 1: string(&out, &first, key, JSONOutput.text(value.string_value))
        case 2: bool(&out, &first, key, value.bool_value != 0)
        case 3: int(&out, &first, key, value.int_value)
        case 4:
            out.comma(&first)
            out.raw("{\"key\":")
            out.string(key)
            out.raw(",\"type\":\"float64\",\"value\":")
            out.double(value.double_value)
            out.byte(UInt8(ascii: "}"))
        case 7:
            out.comma(&first)
            out.raw("{\"key\":")
            out.string(key)
            out.raw(",\"type\":\"binary\",\"value\":")
            out.string(JSONOutput.base64(value.bytes_value.buffer))
            out.byte(UInt8(ascii: "}"))
        case 5, 6: string(&out, &first, key, jsonText(value))
        default: string(&out, &first, key, "")
        }
    }

    /// A value as text: strings as they are, everything else as compact JSON (log bodies).
    static func text(_ value: UnsafeMutablePointer<PBAnyValue>?) -> String {
        guard let value = value?.pointee else { return "" }
        if value.value_case.rawValue == 1 { return JSONOutput.text(value.string_value) }
        if value.value_case.rawValue == 0 { return "" }
        return jsonText(value)
    }

    /// The value as compact JSON text.
    static func jsonText(_ value: PBAnyValue) -> String {
        var json = JSONOutput(capacity: 64)
        write(&json, value, depth: 0)
        return String(decoding: json.bytes, as: UTF8.self)
    }

    private static func write(_ out: inout JSONOutput, _ value: PBAnyValue, depth: Int) {
        switch value.value_case.rawValue {
        case 1: out.string(cString: value.string_value)
        case 2: out.bool(value.bool_value != 0)
        case 3: out.int(value.int_value)
        case 4: out.double(value.double_value)
        case 7: out.string(JSONOutput.base64(value.bytes_value.buffer))
        case 5 where depth < maxDepth:
            out.byte(UInt8(ascii: "["))
            var first = true
            if let array = value.array_value?.pointee {
                forEach(array.n_values, array.values) { element in
                    out.comma(&first)
                    write(&out, element, depth: depth + 1)
                }
            }
            out.byte(UInt8(ascii: "]"))
        case 6 where depth < maxDepth:
            out.byte(UInt8(ascii: "{"))
            var first = true
            if let map = value.kvlist_value?.pointee {
                forEach(map.n_values, map.values) { kv in
                    out.comma(&first)
                    out.key(JSONOutput.text(kv.key))
                    if let inner = kv.value?.pointee { write(&out, inner, depth: depth + 1) } else { out.null() }
                }
            }
            out.byte(UInt8(ascii: "}"))
        default:
            out.null()
        }
    }
}
