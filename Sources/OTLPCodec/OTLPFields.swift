/// Field readers for processors that look at single spans, log records and attributes on the
/// wire (the samplers): byte ranges into the serialized request, no Strings unless asked.
///
/// Ranges index the buffer passed in; they are valid as long as that buffer is.

/// An attribute's value, as far as matching needs it: strings stay byte ranges.
public enum OTLPValue: Sendable, Equatable {
    case string(Range<Int>)
    case bool(Bool)
    case int(Int64)
    case double(Double)
    /// Bytes, arrays, key-value lists, or no value.
    case other
}

/// The fields of a `Span` message that sampling policies read.
public struct OTLPSpanFields: Sendable {
    public var traceID: Range<Int> = 0..<0
    public var spanID: Range<Int> = 0..<0
    /// `trace_state` (W3C tracestate text), empty when absent.
    public var traceState: Range<Int> = 0..<0
    public var parentSpanID: Range<Int> = 0..<0
    public var name: Range<Int> = 0..<0
    /// `SpanKind` number.
    public var kind = 0
    public var startTimeUnixNano: UInt64 = 0
    public var endTimeUnixNano: UInt64 = 0
    /// The `KeyValue` messages of `attributes`, in wire order.
    public var attributes: [Range<Int>] = []
    /// `status.code`: 0 unset, 1 ok, 2 error.
    public var statusCode = 0

    public init() {}

    /// Reads the span at `payload` of `bytes`.
    public init(_ bytes: UnsafeRawBufferPointer, _ payload: Range<Int>) throws(OTLPDecodeError) {
        try read(bytes, payload)
    }

    /// Reads the span at `payload` into this value, reusing its attribute list's storage (hot
    /// paths read every span of a batch into one value).
    public mutating func read(_ bytes: UnsafeRawBufferPointer, _ payload: Range<Int>) throws(OTLPDecodeError) {
        traceID = 0..<0
        spanID = 0..<0
        traceState = 0..<0
        parentSpanID = 0..<0
        name = 0..<0
        kind = 0
        startTimeUnixNano = 0
        endTimeUnixNano = 0
        attributes.removeAll(keepingCapacity: true)
        statusCode = 0
        do throws(ProtoWire.WireError) {
            var reader = ProtoWire.Reader(bytes, range: payload)
            while let field = try reader.next() {
                switch field.number {
                case 1: traceID = try Self.bytesField(field)
                case 2: spanID = try Self.bytesField(field)
                case 3: traceState = try Self.bytesField(field)
                case 4: parentSpanID = try Self.bytesField(field)
                case 5: name = try Self.bytesField(field)
                case 6:
                    try OTLPScanner.expect(field, .varint)
                    var v = ProtoWire.Reader(bytes, range: field.payload)
                    kind = Int(truncatingIfNeeded: try v.readVarint())
                case 7: startTimeUnixNano = try OTLPScanner.fixed64(bytes, field)
                case 8: endTimeUnixNano = try OTLPScanner.fixed64(bytes, field)
                case 9: attributes.append(try Self.bytesField(field))
                case 15:
                    try OTLPScanner.expect(field, .lengthDelimited)
                    var status = ProtoWire.Reader(bytes, range: field.payload)
                    while let s = try status.next() {
                        guard s.number == 3 else { continue }
                        try OTLPScanner.expect(s, .varint)
                        var v = ProtoWire.Reader(bytes, range: s.payload)
                        statusCode = Int(truncatingIfNeeded: try v.readVarint())
                    }
                default: continue
                }
            }
        } catch {
            throw OTLPDecodeError.malformed(.traces, error.detail)
        }
    }

    static func bytesField(_ field: ProtoWire.Field) throws(ProtoWire.WireError) -> Range<Int> {
        try OTLPScanner.expect(field, .lengthDelimited)
        return field.payload
    }
}

/// Reading and matching `KeyValue` attributes on the wire.
public enum OTLPAttributes {
    /// The key and value of the `KeyValue` message at `keyValue` (the last of repeated fields wins).
    public static func read(_ bytes: UnsafeRawBufferPointer, _ keyValue: Range<Int>) -> (key: Range<Int>, value: OTLPValue) {
        var key = keyValue.lowerBound..<keyValue.lowerBound
        var value = OTLPValue.other
        var reader = ProtoWire.Reader(bytes, range: keyValue)
        while let field = try? reader.next() {
            guard field.wireType == .lengthDelimited else { continue }
            if field.number == 1 { key = field.payload }
            if field.number == 2 { value = anyValue(bytes, field.payload) }
        }
        return (key, value)
    }

    /// The value of an `AnyValue` message.
    public static func anyValue(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> OTLPValue {
        var value = OTLPValue.other
        var reader = ProtoWire.Reader(bytes, range: range)
        while let field = try? reader.next() {
            switch (field.number, field.wireType) {
            case (1, .lengthDelimited): value = .string(field.payload)
            case (2, .varint):
                var v = ProtoWire.Reader(bytes, range: field.payload)
                value = .bool(((try? v.readVarint()) ?? 0) != 0)
            case (3, .varint):
                var v = ProtoWire.Reader(bytes, range: field.payload)
                value = .int(Int64(bitPattern: (try? v.readVarint()) ?? 0))
            case (4, .fixed64):
                value = .double(Double(bitPattern: bytes.loadUnaligned(fromByteOffset: field.payloadStart, as: UInt64.self)))
            case (5, .lengthDelimited), (6, .lengthDelimited), (7, .lengthDelimited):
                value = .other
            default: continue
            }
        }
        return value
    }

    /// The value of the first attribute named `key` among `keyValues`, or nil. Values are only
    /// decoded for the attribute whose key matches.
    public static func find(_ bytes: UnsafeRawBufferPointer, _ keyValues: [Range<Int>], key: [UInt8]) -> OTLPValue? {
        for kv in keyValues {
            var valueRange: Range<Int>?
            var keyMatches = false
            var reader = ProtoWire.Reader(bytes, range: kv)
            while let field = try? reader.next() {
                guard field.wireType == .lengthDelimited else { continue }
                if field.number == 1 { keyMatches = equal(bytes, field.payload, key) }
                if field.number == 2 { valueRange = field.payload }
            }
            if keyMatches { return valueRange.map { anyValue(bytes, $0) } ?? .other }
        }
        return nil
    }

    /// The `KeyValue` messages that are field `number` of the message at `message` (a
    /// Resource's attributes are field 1, a LogRecord's field 6).
    public static func list(_ bytes: UnsafeRawBufferPointer, _ message: Range<Int>?, field number: UInt32) -> [Range<Int>] {
        guard let message else { return [] }
        var out: [Range<Int>] = []
        var reader = ProtoWire.Reader(bytes, range: message)
        while let field = try? reader.next() {
            if field.number == number, field.wireType == .lengthDelimited { out.append(field.payload) }
        }
        return out
    }

    public static func equal(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ text: [UInt8]) -> Bool {
        range.count == text.count && UnsafeRawBufferPointer(rebasing: bytes[range]).elementsEqual(text)
    }

    public static func string(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}

/// Rewriting one field of a message, for processors that edit spans (a sampler's tracestate).
public enum OTLPFieldEdit {
    /// The message at `message` of `bytes` with every field `number` removed and, when `value`
    /// is given, one length-delimited field `number` holding `value` written where the first
    /// one was (or at the end). Other fields are copied verbatim, in order.
    public static func replacingBytesField(_ number: UInt32, in message: Range<Int>, of bytes: UnsafeRawBufferPointer,
                                           with value: [UInt8]?) -> [UInt8] {
        var w = ProtoWire.Writer(capacity: message.count + (value?.count ?? 0) + 8)
        var written = false
        func put(_ w: inout ProtoWire.Writer) {
            guard let value, !written else { return }
            written = true
            w.appendLengthDelimitedHeader(number, payloadSize: value.count)
            w.bytes.append(contentsOf: value)
        }
        var reader = ProtoWire.Reader(bytes, range: message)
        while let field = try? reader.next() {
            if field.number == number {
                put(&w)
            } else {
                w.appendRaw(bytes, field.whole)
            }
        }
        put(&w)
        return w.bytes
    }

    /// The message at `message` without its attributes (`KeyValue` fields `number`) whose key
    /// is one of `keys`; everything else is copied verbatim, in order.
    public static func removingAttributes(_ number: UInt32, keys: [[UInt8]], in message: Range<Int>,
                                          of bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var w = ProtoWire.Writer(capacity: message.count)
        var reader = ProtoWire.Reader(bytes, range: message)
        while let field = try? reader.next() {
            if field.number == number, field.wireType == .lengthDelimited, !keys.isEmpty {
                let key = OTLPAttributes.read(bytes, field.payload).key
                if keys.contains(where: { OTLPAttributes.equal(bytes, key, $0) }) { continue }
            }
            w.appendRaw(bytes, field.whole)
        }
        return w.bytes
    }

    /// The message at `message` with one more length-delimited field `number` holding `value`
    /// at its end (a new attribute, say).
    public static func appendingBytesField(_ number: UInt32, in message: Range<Int>, of bytes: UnsafeRawBufferPointer,
                                           value: [UInt8]) -> [UInt8] {
        var w = ProtoWire.Writer(capacity: message.count + value.count + 8)
        w.appendRaw(bytes, message)
        w.appendLengthDelimitedHeader(number, payloadSize: value.count)
        w.bytes.append(contentsOf: value)
        return w.bytes
    }

    /// A serialized `KeyValue` with a string value.
    public static func stringKeyValue(key: String, value: String) -> [UInt8] {
        let k = Array(key.utf8), v = Array(value.utf8)
        var any = ProtoWire.Writer()
        any.appendLengthDelimitedHeader(1, payloadSize: v.count)
        any.bytes.append(contentsOf: v)
        var w = ProtoWire.Writer()
        w.appendLengthDelimitedHeader(1, payloadSize: k.count)
        w.bytes.append(contentsOf: k)
        w.appendLengthDelimitedHeader(2, payloadSize: any.bytes.count)
        w.bytes.append(contentsOf: any.bytes)
        return w.bytes
    }
}
