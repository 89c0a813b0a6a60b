/// The OTLP side of reading JSON, shared by the transcoder and its reference decoder: errors in
/// OTLP terms, and the rules for numbers, booleans and enums (see `OTLPJSONTranscoder` for
/// all the input rules). On the reader, so that the decoders' hot paths touch only the reader.
extension JSONReader {
    func invalid(_ reason: String, at offset: Int) -> OTLPDecodeError {
        OTLPDecodeError(.invalidOTLPJSON, offset: offset, reason)
    }

    /// The next value is not of the JSON type the field needs: an OTLP error when it is some
    /// other valid value ("expected a string, found a number"), a JSON error otherwise.
    mutating func mismatch(expected: String) -> OTLPDecodeError {
        let found: String
        switch peekKind() {
        case .object: found = "an object"
        case .array: found = "an array"
        case .string: found = "a string"
        case .number: found = "a number"
        case .literalTrue: found = "true"
        case .literalFalse: found = "false"
        case .null: found = "null"
        case .end, .invalid: return unexpected(expected: expected)
        }
        return invalid("expected \(expected), found \(found)", at: position)
    }

    /// Parses a number, bool or enum value for `field` and returns it as 64 bits: bool 0 or 1;
    /// the 32-bit signed kinds (and enums) sign-extended; the unsigned kinds zero-extended; the
    /// 64-bit kinds as their pattern; float and double as `bitPattern`.
    mutating func scalarBits(_ field: FieldSchema, _ schema: OTLPSchema) throws(OTLPDecodeError) -> UInt64 {
        let start = position
        switch field.kind {
        case .bool:
            switch peekKind() {
            case .literalTrue:
                try literal("true")
                return 1
            case .literalFalse:
                try literal("false")
                return 0
            default:
                throw mismatch(expected: "true or false")
            }
        case .double, .float:
            let value = try parseDouble()
            if field.kind == .double { return value.bitPattern }
            guard value.isNaN || value.isInfinite || abs(value) <= Double(Float.greatestFiniteMagnitude) else {
                throw invalid("number out of range for float", at: start)
            }
            return UInt64(Float(value).bitPattern)
        case .enumeration:
            // A value name, or a number (a JSON number or a numeric string).
            if peekKind() == .string {
                let name = try string()
                // A loop, not `first(where:)`: a closure would capture (and copy) all of self.
                for value in schema.enums[field.enumeration].values where equals(name, value.name) {
                    return UInt64(bitPattern: Int64(value.value))
                }
                let text = bytes(name)
                guard let scanned = JSONReader.scanNumber(text, from: 0), scanned.end == text.count else {
                    throw invalid("unknown \(schema.enums[field.enumeration].name) value \"\(String(decoding: text, as: UTF8.self))\"",
                                  at: start)
                }
                return try integer((name, scanned.isInteger, start), min: Int64(Int32.min), max: UInt64(Int32.max))
            }
            return try parseInteger(min: Int64(Int32.min), max: UInt64(Int32.max))
        case .int32, .sint32, .sfixed32:
            return try parseInteger(min: Int64(Int32.min), max: UInt64(Int32.max))
        case .uint32, .fixed32:
            return try parseInteger(min: 0, max: UInt64(UInt32.max))
        case .int64, .sint64, .sfixed64:
            return try parseInteger(min: Int64.min, max: UInt64(Int64.max))
        case .uint64, .fixed64:
            return try parseInteger(min: 0, max: UInt64.max)
        case .string, .bytes, .message:
            preconditionFailure("not a scalar")
        }
    }

    /// The token holding a number: a JSON number, or a string whose whole content is one.
    private mutating func numberToken() throws(OTLPDecodeError) -> (range: Range<Int>, isInteger: Bool, start: Int) {
        let start = position
        switch peekKind() {
        case .number:
            let n = try number()
            return (n.range, n.isInteger, n.range.lowerBound)
        case .string:
            let range = try string()
            let text = bytes(range)
            guard let scanned = JSONReader.scanNumber(text, from: 0), scanned.end == text.count else {
                throw invalid("expected a number in the string \"\(String(decoding: text, as: UTF8.self))\"", at: start)
            }
            return (range, scanned.isInteger, start)
        default:
            throw mismatch(expected: "a number")
        }
    }

    /// Reads an integer in `min...max`, returned as its 64-bit two's-complement pattern.
    private mutating func parseInteger(min: Int64, max: UInt64) throws(OTLPDecodeError) -> UInt64 {
        try integer(numberToken(), min: min, max: max)
    }

    /// The integer in a number token (checked by `JSONReader.scanNumber`).
    private func integer(
        _ token: (range: Range<Int>, isInteger: Bool, start: Int), min: Int64, max: UInt64
    ) throws(OTLPDecodeError) -> UInt64 {
        let text = bytes(token.range)
        let negative = text[0] == UInt8(ascii: "-")
        var magnitude: UInt64 = 0
        if token.isInteger {
            for i in (negative ? 1 : 0)..<text.count {
                let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(text[i] - UInt8(ascii: "0")))
                guard !o1, !o2 else { throw invalid("integer out of range", at: token.start) }
                magnitude = sum
            }
        } else {
            // 1e3, 2.0: exact integral values only.
            let value = Double(String(decoding: text, as: UTF8.self)) ?? .nan
            guard value.isFinite, value == value.rounded(), let m = UInt64(exactly: abs(value)) else {
                throw invalid("expected an integer, got \(String(decoding: text, as: UTF8.self))", at: token.start)
            }
            magnitude = m
        }
        if negative && magnitude != 0 {
            guard magnitude <= min.magnitude, min < 0 else { throw invalid("integer out of range", at: token.start) }
            return UInt64(bitPattern: 0 &- Int64(bitPattern: magnitude))
        }
        guard magnitude <= max else { throw invalid("integer out of range", at: token.start) }
        return magnitude
    }

    /// A double from a number, a numeric string, or "NaN" / "Infinity" / "-Infinity".
    private mutating func parseDouble() throws(OTLPDecodeError) -> Double {
        let start = position
        if peekKind() == .string {
            let range = try string()
            if equals(range, Array("NaN".utf8)) { return .nan }
            if equals(range, Array("Infinity".utf8)) { return .infinity }
            if equals(range, Array("-Infinity".utf8)) { return -.infinity }
            let text = bytes(range)
            guard let scanned = JSONReader.scanNumber(text, from: 0), scanned.end == text.count,
                  let value = Double(String(decoding: text, as: UTF8.self)) else {
                throw invalid("expected a number, \"NaN\", \"Infinity\" or \"-Infinity\"", at: start)
            }
            guard value.isFinite else { throw invalid("number out of range for double", at: start) }
            return value
        }
        guard peekKind() == .number else { throw mismatch(expected: "a number") }
        let n = try number()
        guard let value = Double(String(decoding: bytes(n.range), as: UTF8.self)), value.isFinite else {
            throw invalid("number out of range for double", at: start)
        }
        return value
    }
}
