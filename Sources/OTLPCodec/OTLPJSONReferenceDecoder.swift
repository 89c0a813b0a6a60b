/// The first OTLP/JSON decoder, kept as the reference the transcoder is tested and fuzzed
/// against (`OTLPJSON.referenceDecode`): it parses into protobuf-c messages, generically from
/// `OTLPSchema`, and packs them with protobuf-c, so its output is protobuf-c's canonical form
/// (fields in number order, proto3 defaults left out, the last value of a field given twice).
/// The input rules are `OTLPJSONTranscoder`'s. Strings are cut at a U+0000 (protobuf-c's
/// strings are C strings), where the transcoder keeps them whole.
struct OTLPJSONReferenceDecoder {
    let schema: OTLPSchema
    var reader: JSONReader

    init(schema: OTLPSchema = .shared, text: UnsafeMutableRawBufferPointer) {
        self.schema = schema
        self.reader = JSONReader(text)
    }

    /// Decodes the whole text as message `index` and returns its protobuf serialization.
    mutating func decode(message index: Int) throws(OTLPDecodeError) -> [UInt8] {
        let root = try CMessageBuilder.newMessage(schema.messages[index])
        defer { CMessageBuilder.free(message: root) }
        guard reader.peekKind() == .object else { throw mismatch(expected: "an object") }
        try parseMessage(index, root, depth: 1)
        try reader.expectEnd()
        return CMessageBuilder.pack(root)
    }

    private func invalid(_ reason: String, at offset: Int) -> OTLPDecodeError {
        reader.invalid(reason, at: offset)
    }

    private mutating func mismatch(expected: String) -> OTLPDecodeError {
        reader.mismatch(expected: expected)
    }

    // MARK: Messages

    private mutating func parseMessage(
        _ index: Int, _ message: UnsafeMutableRawPointer, depth: Int
    ) throws(OTLPDecodeError) {
        try reader.expect(UInt8(ascii: "{"), "'{'")
        if reader.consume(UInt8(ascii: "}")) { return }
        repeat {
            let key = try reader.string()
            try reader.expect(UInt8(ascii: ":"), "':' after an object key")
            let fieldIndex = schema.fieldIndex(index, key: key, in: reader)
            guard fieldIndex >= 0 else {
                try reader.skipValue()
                continue
            }
            let field = schema.fields[fieldIndex]
            if reader.peekKind() == .null {
                try reader.literal("null")
                continue
            }
            do throws(OTLPDecodeError) {
                try parseField(field, of: index, message, depth: depth)
            } catch {
                throw error.inField(schema.string(field.jsonName))
            }
        } while try reader.nextMember(close: UInt8(ascii: "}"), in: "an object")
    }

    private mutating func parseField(
        _ field: FieldSchema, of index: Int, _ message: UnsafeMutableRawPointer, depth: Int
    ) throws(OTLPDecodeError) {
        if field.repeated {
            try parseRepeated(field, message, depth: depth)
            return
        }
        let slot = message + field.offset
        if field.oneof {
            let selected = message.load(fromByteOffset: field.quantifierOffset, as: UInt32.self)
            if selected != 0 && selected != field.number {
                let other = schema.field(index, number: selected).map { schema.string($0.jsonName) } ?? "another field"
                throw invalid("'\(schema.string(field.jsonName))' and '\(other)' are members of one oneof; only one may be set",
                              at: reader.position)
            }
            if selected == field.number { CMessageBuilder.clear(field, slot) }
            // Set the case first: from here on the slot is freed as this member.
            message.storeBytes(of: UInt32(0), toByteOffset: field.quantifierOffset, as: UInt32.self)
            try parseValue(field, slot, depth: depth) {
                message.storeBytes(of: field.number, toByteOffset: field.quantifierOffset, as: UInt32.self)
            }
            return
        }
        CMessageBuilder.clear(field, slot)
        try parseValue(field, slot, depth: depth) {}
    }

    private mutating func parseRepeated(
        _ field: FieldSchema, _ message: UnsafeMutableRawPointer, depth: Int
    ) throws(OTLPDecodeError) {
        guard reader.peekKind() == .array else { throw mismatch(expected: "an array") }
        try reader.expect(UInt8(ascii: "["), "'['")
        if reader.consume(UInt8(ascii: "]")) { return }
        var count = message.load(fromByteOffset: field.quantifierOffset, as: Int.self)
        var capacity = count
        var index = 0
        repeat {
            do throws(OTLPDecodeError) {
                try CMessageBuilder.reserve(field, in: message, needed: count + 1, capacity: &capacity)
                let array = message.load(fromByteOffset: field.offset, as: UnsafeMutableRawPointer.self)
                let slot = array + count * field.kind.elementSize
                if reader.peekKind() == .null { throw invalid("null is not allowed in an array", at: reader.position) }
                // Zero the slot so a half-parsed element never frees garbage.
                slot.initializeMemory(as: UInt8.self, repeating: 0, count: field.kind.elementSize)
                try parseValue(field, slot, depth: depth) {
                    count += 1
                    message.storeBytes(of: count, toByteOffset: field.quantifierOffset, as: Int.self)
                }
            } catch {
                throw error.inField("[\(index)]")
            }
            index += 1
        } while try reader.nextMember(close: UInt8(ascii: "]"), in: "an array")
    }

    /// Parses one value into `slot`. `stored` runs as soon as the slot owns what it points
    /// to (for a message: before its fields are parsed), to link it into its parent.
    private mutating func parseValue(
        _ field: FieldSchema, _ slot: UnsafeMutableRawPointer, depth: Int, stored: () -> Void
    ) throws(OTLPDecodeError) {
        switch field.kind {
        case .message:
            guard depth < WireValidator.maxDepth else {
                throw OTLPDecodeError(.tooDeep, offset: reader.position,
                                      "messages nested deeper than \(WireValidator.maxDepth) levels")
            }
            guard reader.peekKind() == .object else { throw mismatch(expected: "an object") }
            let sub = try CMessageBuilder.newMessage(schema.messages[field.message])
            slot.storeBytes(of: sub, as: UnsafeMutableRawPointer.self)
            stored()
            try parseMessage(field.message, sub, depth: depth + 1)
        case .string:
            guard reader.peekKind() == .string else { throw mismatch(expected: "a string") }
            let range = try reader.string()
            try CMessageBuilder.setString(slot, reader.bytes(range))
            stored()
        case .bytes:
            try parseBytes(field, slot)
            stored()
        default:
            store(try reader.scalarBits(field, schema), field.kind, slot)
            stored()
        }
    }

    private mutating func parseBytes(_ field: FieldSchema, _ slot: UnsafeMutableRawPointer) throws(OTLPDecodeError) {
        guard reader.peekKind() == .string else { throw mismatch(expected: "a string") }
        let start = reader.position
        let text = reader.bytes(try reader.string())
        if field.idBytes > 0 {
            guard text.count > 0 else { return }  // "" = absent
            guard text.count == field.idBytes * 2 else {
                throw invalid("expected \(field.idBytes * 2) hex digits (\(field.idBytes) bytes), got \(text.count) characters",
                              at: start)
            }
            var id = [UInt8](repeating: 0, count: field.idBytes)
            let ok = id.withUnsafeMutableBytes { Hex.decode(text, into: $0) }
            guard ok else { throw invalid("invalid hex digit in id", at: start) }
            try id.withBytes { (raw) throws(OTLPDecodeError) in try CMessageBuilder.setBytes(slot, raw) }
        } else {
            guard let data = Base64.decode(text) else { throw invalid("invalid base64", at: start) }
            try data.withBytes { (raw) throws(OTLPDecodeError) in try CMessageBuilder.setBytes(slot, raw) }
        }
    }

    /// Stores a scalar in `slot` with the C type protobuf-c uses for the field
    /// (`protobuf_c_boolean` is a 4-byte int).
    private func store(_ bits: UInt64, _ kind: FieldKind, _ slot: UnsafeMutableRawPointer) {
        switch kind {
        case .bool, .enumeration, .int32, .sint32, .sfixed32, .uint32, .fixed32, .float:
            slot.storeBytes(of: UInt32(truncatingIfNeeded: bits), as: UInt32.self)
        default:
            slot.storeBytes(of: bits, as: UInt64.self)
        }
    }
}
