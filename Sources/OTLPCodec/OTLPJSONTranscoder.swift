/// OTLP/JSON straight to protobuf wire bytes: one pass over the text, no message tree, no
/// allocation per value.
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
///
/// Output: protobuf-c's canonical form, byte for byte what `OTLPJSONReferenceDecoder` (a
/// protobuf-c tree, packed) gives for the same text: fields in ascending number order, proto3
/// zero values of singular fields left out, oneof members and repeated elements always written.
/// One deliberate difference: a string holding U+0000 is kept whole (protobuf-c cuts it).
/// Repeated scalar fields, which no traces or logs message has, are written unpacked.
///
/// How: a message's fields are written as they come. A nested message gets its key, a gap
/// for its length (`WireOutput.openLength`) as long as the last one of its type needed, its
/// body, then its length in the shortest form (the body moved if the guess was wrong). A message's fields almost always come in ascending order with no
/// singular field twice (the order every SDK writes), and then nothing more happens. Otherwise
/// (noticed on the way) the body is rebuilt when the message closes: its fields are read back
/// from the bytes written, ordered by number, and of a singular field only the last value is
/// kept. A zero value writes nothing, except when its key was seen before in the message: then
/// it is written and the rebuild drops it as protobuf-c would, after it has overridden the
/// earlier value.
struct OTLPJSONTranscoder {
    let schema: OTLPSchema
    var reader: JSONReader
    private var out: WireOutput
    /// By message type: the size of the length prefix of the last one written, the guess for
    /// the next (a span's is 2 bytes, an attribute's 1), so that bodies rarely have to move.
    private var lengthSizes: [UInt8]

    init(schema: OTLPSchema = .shared, text: UnsafeMutableRawBufferPointer) {
        self.schema = schema
        self.reader = JSONReader(text)
        out = WireOutput(capacity: 64)
        lengthSizes = [UInt8](repeating: 1, count: schema.messages.count)
    }

    /// Transcodes the whole text as message `index`. Call once.
    mutating func decode(message index: Int) throws(OTLPDecodeError) -> [UInt8] {
        // Protobuf is usually about half the size of the same data in JSON: the result array
        // is allocated with room for 5/8 of it and written in place. Should it not fit, the
        // writing goes on in a buffer of the output's own, copied into an array at the end.
        let capacity = reader.text.count / 2 + reader.text.count / 8 + 64
        var spilled = false
        var failure: OTLPDecodeError?
        out.release()
        var result = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            out = WireOutput(lent: buffer)
            do throws(OTLPDecodeError) {
                guard reader.peekKind() == .object else { throw mismatch(expected: "an object") }
                try message(index, depth: 1)
                try reader.expectEnd()
            } catch {
                failure = error
            }
            spilled = out.owned
            initialized = failure == nil && !spilled ? out.count : 0
        }
        defer { out.release() }
        if let failure { throw failure }
        if spilled { result = out.bytes() }
        return result
    }

    private func invalid(_ reason: String, at offset: Int) -> OTLPDecodeError {
        reader.invalid(reason, at: offset)
    }

    private mutating func mismatch(expected: String) -> OTLPDecodeError {
        reader.mismatch(expected: expected)
    }

    // MARK: Messages

    /// Writes the body of message `index` (the next value, an object) at the end of `out`.
    private mutating func message(_ index: Int, depth: Int) throws(OTLPDecodeError) {
        let bodyStart = out.count
        // Whether the fields came in protobuf-c's order so far: ascending numbers, one number
        // twice only for a repeated field (whose elements then follow each other).
        var canonical = true
        var lastNumber: UInt32 = 0
        // Field numbers below 64 seen so far (OTLP's are all below 20).
        var seen: UInt64 = 0
        // The member set of the message's oneof with several members (OTLP messages have at
        // most one such oneof; proto3 `optional` fields are one-member oneofs, never in conflict):
        // its case slot and number.
        var oneofGroup = -1
        var oneofNumber: UInt32 = 0
        try reader.expect(UInt8(ascii: "{"), "'{'")
        if !reader.consume(UInt8(ascii: "}")) {
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
                if field.number < lastNumber || (field.number == lastNumber && (!field.repeated || field.packed)) { canonical = false }
                lastNumber = field.number
                let bit: UInt64 = field.number < 64 ? 1 << UInt64(field.number) : 0
                // A zero value must be written when it overrides an earlier value.
                let seenBefore = bit == 0 || seen & bit != 0
                seen |= bit
                if bit == 0 { canonical = false }
                do throws(OTLPDecodeError) {
                    if field.repeated {
                        try repeated(field, depth: depth)
                    } else {
                        if field.sharedOneof {
                            if oneofGroup < 0 || oneofGroup == field.quantifierOffset && oneofNumber == field.number {
                                oneofGroup = field.quantifierOffset
                                oneofNumber = field.number
                            } else {
                                try selectAnother(field, of: index, group: oneofGroup, number: oneofNumber)
                            }
                        }
                        try value(field, depth: depth, always: field.oneof || seenBefore)
                    }
                } catch {
                    throw error.inField(schema.string(field.jsonName))
                }
            } while try reader.nextMember(close: UInt8(ascii: "}"), in: "an object")
        }
        if !canonical { rebuild(index, bodyStart: bodyStart) }
    }

    /// A second oneof member in one message: an error when it belongs to the same oneof as the
    /// member already set (OTLP has no message with two oneofs of several members).
    private func selectAnother(_ field: FieldSchema, of index: Int, group: Int, number: UInt32) throws(OTLPDecodeError) {
        guard group == field.quantifierOffset else {
            preconditionFailure("a message with two oneofs: \(schema.messageNames[index])")
        }
        let other = schema.field(index, number: number).map { schema.string($0.jsonName) } ?? "another field"
        throw invalid("'\(schema.string(field.jsonName))' and '\(other)' are members of one oneof; only one may be set",
                      at: reader.position)
    }

    private mutating func repeated(_ field: FieldSchema, depth: Int) throws(OTLPDecodeError) {
        guard reader.peekKind() == .array else { throw mismatch(expected: "an array") }
        try reader.expect(UInt8(ascii: "["), "'['")
        if reader.consume(UInt8(ascii: "]")) { return }
        // Packed (as protobuf-c packs): one key and length, then the values without keys.
        var gap = -1
        if field.packed {
            key(field.number, wireType: 2)
            gap = out.openLength(size: 1)
        }
        var index = 0
        repeat {
            do throws(OTLPDecodeError) {
                if reader.peekKind() == .null { throw invalid("null is not allowed in an array", at: reader.position) }
                if field.packed {
                    scalarValue(try reader.scalarBits(field, schema), field.kind)
                } else {
                    try value(field, depth: depth, always: true)
                }
            } catch {
                throw error.inField("[\(index)]")
            }
            index += 1
        } while try reader.nextMember(close: UInt8(ascii: "]"), in: "an array")
        if gap >= 0 { out.closeLength(gap: gap, reserved: 1) }
    }

    /// Writes one value of `field` with its key. Unless `always` (oneof members and repeated
    /// elements), a proto3 zero value (0, false, "", no bytes) writes nothing.
    private mutating func value(_ field: FieldSchema, depth: Int, always: Bool) throws(OTLPDecodeError) {
        switch field.kind {
        case .message:
            guard depth < WireValidator.maxDepth else {
                throw OTLPDecodeError(.tooDeep, offset: reader.position,
                                      "messages nested deeper than \(WireValidator.maxDepth) levels")
            }
            guard reader.peekKind() == .object else { throw mismatch(expected: "an object") }
            key(field.number, wireType: 2)
            let guess = Int(lengthSizes[field.message])
            let gap = out.openLength(size: guess)
            try message(field.message, depth: depth + 1)
            lengthSizes[field.message] = UInt8(out.closeLength(gap: gap, reserved: guess))
        case .string:
            guard reader.peekKind() == .string else { throw mismatch(expected: "a string") }
            let text = reader.bytes(try reader.string())
            guard always || text.count > 0 else { return }
            key(field.number, wireType: 2)
            out.appendVarint(UInt64(text.count))
            out.append(text)
        case .bytes:
            try bytes(field, always: always)
        default:
            let bits = try reader.scalarBits(field, schema)
            guard always || !Self.isZero(bits, field.kind) else { return }
            scalar(bits, field)
        }
    }

    private mutating func bytes(_ field: FieldSchema, always: Bool) throws(OTLPDecodeError) {
        guard reader.peekKind() == .string else { throw mismatch(expected: "a string") }
        let start = reader.position
        let text = reader.bytes(try reader.string())
        if field.idBytes > 0 {
            guard text.count > 0 else {  // "" = absent (or empty, where it must be written)
                if always {
                    key(field.number, wireType: 2)
                    out.append(0)
                }
                return
            }
            guard text.count == field.idBytes * 2 else {
                throw invalid("expected \(field.idBytes * 2) hex digits (\(field.idBytes) bytes), got \(text.count) characters",
                              at: start)
            }
            key(field.number, wireType: 2)
            out.appendVarint(UInt64(field.idBytes))
            let at = out.appendUninitialized(field.idBytes)
            let ok = out.withBytes(at: at, count: field.idBytes) { Hex.decode(text, into: $0) }
            guard ok else { throw invalid("invalid hex digit in id", at: start) }
        } else {
            guard let data = Base64.decode(text) else { throw invalid("invalid base64", at: start) }
            guard always || data.count > 0 else { return }
            key(field.number, wireType: 2)
            out.appendVarint(UInt64(data.count))
            data.withUnsafeBytes { out.append($0) }
        }
    }

    // MARK: Wire

    @inline(__always)
    private mutating func key(_ number: UInt32, wireType: UInt64) {
        out.appendVarint(UInt64(number) << 3 | wireType)
    }

    /// proto3's "zero" of a scalar, which protobuf-c leaves out of a singular field
    /// (`-0.0` compares equal to zero and is left out too).
    private static func isZero(_ bits: UInt64, _ kind: FieldKind) -> Bool {
        switch kind {
        case .double: Double(bitPattern: bits) == 0
        case .float: Float(bitPattern: UInt32(truncatingIfNeeded: bits)) == 0
        default: bits == 0
        }
    }

    /// Writes key and value of a scalar from `scalarBits`' 64-bit form.
    private mutating func scalar(_ bits: UInt64, _ field: FieldSchema) {
        key(field.number, wireType: UInt64(field.kind.wireType.rawValue))
        scalarValue(bits, field.kind)
    }

    /// Writes the value of a scalar (no key) from `scalarBits`' 64-bit form.
    private mutating func scalarValue(_ bits: UInt64, _ kind: FieldKind) {
        switch kind {
        case .bool, .enumeration, .int32, .uint32, .int64, .uint64:
            // Negative int32 and enum values are sign-extended to 10 bytes, as protobuf requires.
            out.appendVarint(bits)
        case .sint32:
            let n = Int32(truncatingIfNeeded: bits)
            out.appendVarint(UInt64(UInt32(bitPattern: (n << 1) ^ (n >> 31))))
        case .sint64:
            let n = Int64(bitPattern: bits)
            out.appendVarint(UInt64(bitPattern: (n << 1) ^ (n >> 63)))
        case .fixed32, .sfixed32, .float:
            out.appendFixed(bits, size: 4)
        case .fixed64, .sfixed64, .double:
            out.appendFixed(bits, size: 8)
        case .string, .bytes, .message:
            preconditionFailure("not a scalar")
        }
    }

    // MARK: Order

    /// Rewrites the body of message `index` (from `bodyStart` to the end of `out`) in
    /// protobuf-c's order: by field number, repeated elements in the order given, of a singular
    /// field only the last value, and that one only if it is not a proto3 zero value (oneof
    /// members and messages are always kept).
    private mutating func rebuild(_ index: Int, bodyStart: Int) {
        var fields: [ProtoWire.Field] = []
        var reader = ProtoWire.Reader(out.bytes(0..<out.count), range: bodyStart..<out.count)
        // The body was written here: it is well-formed.
        while let field = try? reader.next() { fields.append(field) }
        let order = fields.indices.sorted {
            fields[$0].number != fields[$1].number ? fields[$0].number < fields[$1].number : $0 < $1
        }
        var body: [UInt8] = []
        body.reserveCapacity(out.count - bodyStart)
        var k = 0
        while k < order.count {
            let f = fields[order[k]]
            k += 1
            guard let schemaField = schema.field(index, number: f.number) else { continue }
            if schemaField.packed {
                // A packed field given more than once: one run of all its values, as protobuf-c
                // packs the array it read.
                var payloads = [f.payload]
                while k < order.count, fields[order[k]].number == f.number {
                    payloads.append(fields[order[k]].payload)
                    k += 1
                }
                guard payloads.count > 1 else {
                    body.append(contentsOf: out.bytes(f.whole))
                    continue
                }
                var header = ProtoWire.Writer(capacity: 16)
                header.appendLengthDelimitedHeader(f.number, payloadSize: payloads.reduce(0) { $0 + $1.count })
                body.append(contentsOf: header.bytes)
                for p in payloads { body.append(contentsOf: out.bytes(p)) }
                continue
            }
            if !schemaField.repeated {
                if k < order.count, fields[order[k]].number == f.number { continue }
                if !schemaField.oneof, isZero(f, schemaField.kind) { continue }
            }
            body.append(contentsOf: out.bytes(f.whole))
        }
        body.withUnsafeBytes { out.replaceTail(from: bodyStart, with: $0) }
    }

    /// Whether a written singular field holds its proto3 zero value (then protobuf-c leaves it out).
    private func isZero(_ field: ProtoWire.Field, _ kind: FieldKind) -> Bool {
        let payload = out.bytes(field.payload)
        switch kind {
        case .message: return false
        case .string, .bytes: return payload.isEmpty
        case .double: return Double(bitPattern: payload.loadUnaligned(as: UInt64.self)) == 0
        case .float: return Float(bitPattern: payload.loadUnaligned(as: UInt32.self)) == 0
        case .fixed32, .sfixed32, .fixed64, .sfixed64: return payload.allSatisfy { $0 == 0 }
        default: return payload.count == 1 && payload[0] == 0  // a varint, written shortest
        }
    }
}
