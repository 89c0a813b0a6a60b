internal import CProtobufC

/// Writes a decoded protobuf-c message as OTLP JSON, generically from `OTLPSchema`.
///
/// Output rules (OTLP/JSON, i.e. proto3 JSON with OTLP's changes):
/// - keys are the lowerCamelCase JSON names, in field-number order; no whitespace;
/// - fields holding their proto3 default (0, false, "", empty bytes, empty repeated, unset
///   message) are omitted; a oneof member that is set is always written, even when zero
///   (`{"intValue":"0"}`); a set sub-message is written even when empty (`"resource":{}`);
/// - `traceId`, `spanId`, `parentSpanId` are lowercase hex; other bytes are standard base64;
/// - 64-bit integers are decimal strings; 32-bit integers and enums are JSON numbers;
/// - doubles are shortest round-trip numbers, or `"NaN"`, `"Infinity"`, `"-Infinity"`;
/// - unknown fields kept by protobuf-c are not written.
/// With these rules the output for a message equals Python's
/// `json.dumps(MessageToDict(m, use_integers_for_enums=True), separators=(",", ":"), ensure_ascii=False)`
/// after its base64 ids are rewritten in hex (the fixtures check this).
struct OTLPJSONEncoder {
    let schema: OTLPSchema
    var writer: JSONWriter

    init(schema: OTLPSchema = .shared, capacity: Int) {
        self.schema = schema
        self.writer = JSONWriter(capacity: capacity)
    }

    /// Writes message `index` stored at `message`.
    mutating func message(_ index: Int, _ message: UnsafeRawPointer) {
        writer.byte(UInt8(ascii: "{"))
        var first = true
        for f in schema.messages[index].fields {
            let field = schema.fields[f]
            if field.repeated {
                let count = message.load(fromByteOffset: field.quantifierOffset, as: Int.self)
                guard count > 0,
                      let array = message.load(fromByteOffset: field.offset, as: UnsafeRawPointer?.self)
                else { continue }
                separator(&first)
                writer.key(schema.names, field.jsonName)
                writer.byte(UInt8(ascii: "["))
                let stride = field.kind.elementSize
                for i in 0..<count {
                    if i > 0 { writer.byte(UInt8(ascii: ",")) }
                    value(field, array + i * stride)
                }
                writer.byte(UInt8(ascii: "]"))
            } else if field.oneof {
                let selected = message.load(fromByteOffset: field.quantifierOffset, as: UInt32.self)
                guard selected == field.number else { continue }
                separator(&first)
                writer.key(schema.names, field.jsonName)
                value(field, message + field.offset)
            } else {
                guard !isDefault(field, message + field.offset) else { continue }
                separator(&first)
                writer.key(schema.names, field.jsonName)
                value(field, message + field.offset)
            }
        }
        writer.byte(UInt8(ascii: "}"))
    }

    @inline(__always)
    private mutating func separator(_ first: inout Bool) {
        if first { first = false } else { writer.byte(UInt8(ascii: ",")) }
    }

    /// Whether the value at `slot` is the proto3 default that JSON omits.
    private func isDefault(_ field: FieldSchema, _ slot: UnsafeRawPointer) -> Bool {
        switch field.kind {
        case .int32, .sint32, .sfixed32, .uint32, .fixed32, .enumeration, .bool:
            return slot.load(as: UInt32.self) == 0
        case .int64, .sint64, .sfixed64, .uint64, .fixed64:
            return slot.load(as: UInt64.self) == 0
        case .float:
            return slot.load(as: Float.self) == 0
        case .double:
            return slot.load(as: Double.self) == 0
        case .string:
            guard let s = slot.load(as: UnsafePointer<CChar>?.self) else { return true }
            return s[0] == 0
        case .bytes:
            return slot.load(as: ProtobufCBinaryData.self).len == 0
        case .message:
            return slot.load(as: UnsafeRawPointer?.self) == nil
        }
    }

    /// Writes the single value stored at `slot` (a struct member or an array element).
    private mutating func value(_ field: FieldSchema, _ slot: UnsafeRawPointer) {
        switch field.kind {
        case .int32, .sint32, .sfixed32, .enumeration:
            writer.decimal(Int64(slot.load(as: Int32.self)))
        case .uint32, .fixed32:
            writer.decimal(UInt64(slot.load(as: UInt32.self)))
        case .int64, .sint64, .sfixed64:
            writer.byte(UInt8(ascii: "\""))
            writer.decimal(slot.load(as: Int64.self))
            writer.byte(UInt8(ascii: "\""))
        case .uint64, .fixed64:
            writer.byte(UInt8(ascii: "\""))
            writer.decimal(slot.load(as: UInt64.self))
            writer.byte(UInt8(ascii: "\""))
        case .float:
            writer.float(slot.load(as: Float.self))
        case .double:
            writer.double(slot.load(as: Double.self))
        case .bool:
            if slot.load(as: Int32.self) != 0 { writer.raw("true") } else { writer.raw("false") }
        case .string:
            writer.string(cString: slot.load(as: UnsafePointer<CChar>?.self))
        case .bytes:
            let data = slot.load(as: ProtobufCBinaryData.self)
            let buffer = UnsafeRawBufferPointer(start: data.data, count: data.data == nil ? 0 : data.len)
            if field.idBytes > 0 { writer.hex(buffer) } else { writer.base64(buffer) }
        case .message:
            if let sub = slot.load(as: UnsafeRawPointer?.self) {
                message(field.message, sub)
            } else {
                writer.raw("{}")
            }
        }
    }
}
