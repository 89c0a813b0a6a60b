/// Numbers, booleans and enums for `OTLPJSONDecoder`.
extension OTLPJSONDecoder {
    /// Parses a number, bool or enum value and stores it in `slot` with the C type protobuf-c
    /// uses for the field (`protobuf_c_boolean` is a 4-byte int).
    mutating func parseScalar(_ field: FieldSchema, _ slot: UnsafeMutableRawPointer) throws(OTLPDecodeError) {
        let start = reader.position
        switch field.kind {
        case .bool:
            switch reader.peekKind() {
            case .literalTrue:
                try reader.literal("true")
                slot.storeBytes(of: Int32(1), as: Int32.self)
            case .literalFalse:
                try reader.literal("false")
                slot.storeBytes(of: Int32(0), as: Int32.self)
            default:
                throw mismatch(expected: "true or false")
            }
        case .double, .float:
            let value = try parseDouble()
            if field.kind == .double {
                slot.storeBytes(of: value, as: Double.self)
            } else {
                guard value.isNaN || value.isInfinite || abs(value) <= Double(Float.greatestFiniteMagnitude) else {
                    throw invalid("number out of range for float", at: start)
                }
                slot.storeBytes(of: Float(value), as: Float.self)
            }
        case .enumeration:
            // A value name, or a number (a JSON number or a numeric string).
            if reader.peekKind() == .string {
                let name = try reader.string()
                let values = schema.enums[field.enumeration].values
                if let match = values.first(where: { reader.equals(name, $0.name) }) {
                    slot.storeBytes(of: match.value, as: Int32.self)
                    return
                }
                let text = reader.bytes(name)
                guard let scanned = JSONReader.scanNumber(text, from: 0), scanned.end == text.count else {
                    throw invalid("unknown \(schema.enums[field.enumeration].name) value \"\(String(decoding: text, as: UTF8.self))\"",
                                  at: start)
                }
                let value = try integer((name, scanned.isInteger, start), min: Int64(Int32.min), max: UInt64(Int32.max))
                slot.storeBytes(of: Int32(truncatingIfNeeded: value), as: Int32.self)
                return
            }
            let value = try parseInteger(min: Int64(Int32.min), max: UInt64(Int32.max))
            slot.storeBytes(of: Int32(truncatingIfNeeded: value), as: Int32.self)
        case .int32, .sint32, .sfixed32:
            let value = try parseInteger(min: Int64(Int32.min), max: UInt64(Int32.max))
            slot.storeBytes(of: Int32(truncatingIfNeeded: value), as: Int32.self)
        case .uint32, .fixed32:
            let value = try parseInteger(min: 0, max: UInt64(UInt32.max))
            slot.storeBytes(of: UInt32(truncatingIfNeeded: value), as: UInt32.self)
        case .int64, .sint64, .sfixed64:
            let value = try parseInteger(min: Int64.min, max: UInt64(Int64.max))
            slot.storeBytes(of: Int64(truncatingIfNeeded: value), as: Int64.self)
        case .uint64, .fixed64:
            let value = try parseInteger(min: 0, max: UInt64.max)
            slot.storeBytes(of: value, as: UInt64.self)
        case .string, .bytes, .message:
            preconditionFailure("not a scalar")
        }
    }

    /// The token holding a number: a JSON number, or a string whose whole content is one.
    private mutating func numberToken() throws(OTLPDecodeError) -> (range: Range<Int>, isInteger: Bool, start: Int) {
        let start = reader.position
        switch reader.peekKind() {
        case .number:
            let n = try reader.number()
            return (n.range, n.isInteger, n.range.lowerBound)
        case .string:
            let range = try reader.string()
            let text = reader.bytes(range)
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
        let text = reader.bytes(token.range)
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
        let start = reader.position
        if reader.peekKind() == .string {
            let range = try reader.string()
            if reader.equals(range, Array("NaN".utf8)) { return .nan }
            if reader.equals(range, Array("Infinity".utf8)) { return .infinity }
            if reader.equals(range, Array("-Infinity".utf8)) { return -.infinity }
            let text = reader.bytes(range)
            guard let scanned = JSONReader.scanNumber(text, from: 0), scanned.end == text.count,
                  let value = Double(String(decoding: text, as: UTF8.self)) else {
                throw invalid("expected a number, \"NaN\", \"Infinity\" or \"-Infinity\"", at: start)
            }
            guard value.isFinite else { throw invalid("number out of range for double", at: start) }
            return value
        }
        guard reader.peekKind() == .number else { throw mismatch(expected: "a number") }
        let n = try reader.number()
        guard let value = Double(String(decoding: reader.bytes(n.range), as: UTF8.self)), value.isFinite else {
            throw invalid("number out of range for double", at: start)
        }
        return value
    }
}
