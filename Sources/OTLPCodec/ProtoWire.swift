/// Minimal protobuf wire-format reading and writing, for code that works on serialized
/// messages without decoding them (the splitter, the validator).
///
/// Wire format recap: a message is a sequence of fields; each field is a varint key
/// `(field_number << 3) | wire_type` followed by its payload: a varint (type 0), 8 bytes
/// (type 1), a varint length then that many bytes (type 2), or 4 bytes (type 5). Types 3 and 4
/// (groups) are not used by proto3 and are rejected here, as protobuf-c does.
enum ProtoWire {
    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    /// One field as found by `Reader.next()`: its number, wire type, the byte range of the
    /// whole field (key included) and of its payload (for type 2, without the length prefix).
    struct Field {
        var number: UInt32
        var wireType: WireType
        var start: Int
        var payloadStart: Int
        var end: Int
        var payload: Range<Int> { payloadStart..<end }
        var whole: Range<Int> { start..<end }
    }

    /// A bounds-checked cursor over one message (a range of `bytes`). Never reads outside the
    /// range; every malformation is reported as a short reason with its offset in `bytes`.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position: Int
        let end: Int

        /// Reads the message occupying `range` of `bytes`.
        init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>) {
            self.bytes = bytes
            self.position = range.lowerBound
            self.end = range.upperBound
        }

        /// The next field, or nil at the end of the message.
        mutating func next() throws(WireError) -> Field? {
            guard position < end else { return nil }
            let start = position
            let key = try readVarint()
            let number = key >> 3
            guard number != 0, number <= 0x1FFF_FFFF else {
                throw WireError("invalid field number \(number)", offset: start)
            }
            guard let wireType = WireType(rawValue: UInt8(key & 7)) else {
                throw WireError("unsupported wire type \(key & 7)", offset: start)
            }
            let payloadStart: Int
            switch wireType {
            case .varint:
                payloadStart = position
                _ = try readVarint()
            case .fixed64:
                payloadStart = position
                guard end - position >= 8 else { throw WireError("truncated fixed64 field", offset: start) }
                position += 8
            case .fixed32:
                payloadStart = position
                guard end - position >= 4 else { throw WireError("truncated fixed32 field", offset: start) }
                position += 4
            case .lengthDelimited:
                let length = try readVarint()
                payloadStart = position
                guard length <= UInt64(end - position) else {
                    throw WireError("truncated length-delimited field", offset: start)
                }
                position += Int(length)
            }
            return Field(number: UInt32(number), wireType: wireType, start: start,
                         payloadStart: payloadStart, end: position)
        }

        /// Reads a varint of at most 10 bytes.
        @inline(__always)
        mutating func readVarint() throws(WireError) -> UInt64 {
            // Keys and most lengths are one byte.
            if position < end, bytes[position] < 0x80 {
                position += 1
                return UInt64(bytes[position - 1])
            }
            return try readLongVarint()
        }

        mutating func readLongVarint() throws(WireError) -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            let start = position
            while position < end {
                let byte = bytes[position]
                position += 1
                if shift < 64 { result |= UInt64(byte & 0x7F) << shift }
                if byte & 0x80 == 0 { return result }
                shift += 7
                if shift >= 70 { throw WireError("varint longer than 10 bytes", offset: start) }
            }
            throw WireError("truncated varint", offset: start)
        }
    }

    /// A wire-level malformation: what and where.
    struct WireError: Error {
        var reason: String
        var offset: Int
        init(_ reason: String, offset: Int) {
            self.reason = reason
            self.offset = offset
        }
        var detail: String { "\(reason) at offset \(offset)" }
    }

    // MARK: Writing

    /// Number of bytes of `value` as a varint.
    @inline(__always)
    static func varintSize(_ value: UInt64) -> Int { ProtobufVarint.size(value) }

    /// Size of a length-delimited field with a one-byte key holding `payloadSize` bytes.
    @inline(__always)
    static func lengthDelimitedFieldSize(payloadSize: Int) -> Int {
        1 + varintSize(UInt64(payloadSize)) + payloadSize
    }

    /// Appends protobuf wire data to a byte array.
    struct Writer {
        var bytes: [UInt8]

        init(capacity: Int = 0) {
            bytes = []
            bytes.reserveCapacity(capacity)
        }

        /// A writer appending to `bytes` (a buffer reused from an earlier write).
        init(appendingTo bytes: [UInt8]) {
            self.bytes = bytes
        }

        mutating func appendVarint(_ value: UInt64) {
            var v = value
            while v >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
                v >>= 7
            }
            bytes.append(UInt8(v))
        }

        mutating func appendKey(_ number: UInt32, _ wireType: WireType) {
            appendVarint(UInt64(number) << 3 | UInt64(wireType.rawValue))
        }

        /// Appends the key and length prefix of a length-delimited field; the caller appends
        /// exactly `payloadSize` bytes next.
        mutating func appendLengthDelimitedHeader(_ number: UInt32, payloadSize: Int) {
            appendKey(number, .lengthDelimited)
            appendVarint(UInt64(payloadSize))
        }

        /// Appends `range` of `source` verbatim.
        mutating func appendRaw(_ source: UnsafeRawBufferPointer, _ range: Range<Int>) {
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: source[range]))
        }
    }
}

/// The size of a protobuf varint, for the components that write protobuf by hand (the filelog
/// receiver's records, the Loki push).
public enum ProtobufVarint {
    @inlinable
    public static func size(_ value: UInt64) -> Int {
        // 1 byte per started group of 7 bits; 0 takes one byte.
        let bits = 64 - (value | 1).leadingZeroBitCount
        return (bits + 6) / 7
    }
}
