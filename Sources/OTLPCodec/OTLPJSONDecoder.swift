/// Parses OTLP JSON into protobuf-c messages, generically from `OTLPSchema`, then packs them.
///
/// Input rules (OTLP/JSON, lenient where the spec allows):
/// - keys: the lowerCamelCase JSON name or the original `snake_case` name; unknown keys are
///   skipped (their syntax is still checked); a key given twice: the last value wins for
///   singular fields, repeated fields append;
/// - `null` for any field means "not set";
/// - `traceId` / `spanId` / `parentSpanId`: hex, either case, exactly 32 / 16 digits; `""` is
///   absent; other bytes fields: base64, standard or URL-safe, padding optional;
/// - integers: JSON numbers or strings holding a JSON number; fractions and exponents are
///   accepted when the value is integral and in range (`"1e3"`, `2.0`);
/// - doubles: numbers, numeric strings, `"NaN"`, `"Infinity"`, `"-Infinity"`;
/// - enums: integers or value names (`2` or `"SPAN_KIND_SERVER"`);
/// - a oneof (AnyValue's `value`) may have only one member set.
/// Messages nest at most `WireValidator.maxDepth` deep, so the output always passes
/// `OTLPValidator`.
struct OTLPJSONDecoder {
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

    func invalid(_ reason: String, at offset: Int) -> OTLPDecodeError {
        OTLPDecodeError(.invalidOTLPJSON, offset: offset, reason)
    }

    /// The next value is not of the JSON type the field needs: an OTLP error when it is some
    /// other valid value ("expected a string, found a number"), a JSON error otherwise.
    mutating func mismatch(expected: String) -> OTLPDecodeError {
        let found: String
        switch reader.peekKind() {
        case .object: found = "an object"
        case .array: found = "an array"
        case .string: found = "a string"
        case .number: found = "a number"
        case .literalTrue: found = "true"
        case .literalFalse: found = "false"
        case .null: found = "null"
        case .end, .invalid: return reader.unexpected(expected: expected)
        }
        return invalid("expected \(expected), found \(found)", at: reader.position)
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
            guard let field = lookup(index, key) else {
                try reader.skipValue()
                continue
            }
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

    /// The field of message `index` whose JSON or proto name is the key at `key`.
    private func lookup(_ index: Int, _ key: Range<Int>) -> FieldSchema? {
        let range = schema.messages[index].fields
        for i in range where reader.equals(key, schema.names, schema.fields[i].jsonName) { return schema.fields[i] }
        for i in range where reader.equals(key, schema.names, schema.fields[i].protoName) { return schema.fields[i] }
        return nil
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
            try parseScalar(field, slot)
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
}
