#if canImport(Glibc)
internal import Glibc
#endif
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
        var sink = AttributeList()
        swap(&sink.list, &attributes)   // the list, uniquely referenced while the walk appends
        sink.list.removeAll(keepingCapacity: true)
        defer { swap(&sink.list, &attributes) }
        try walk(bytes, payload, &sink)
    }

    /// Reads the span at `payload` like `read(_:_:)`, except that its attributes are not
    /// listed: `matcher` fills the empty slots of `values` with the attributes it looks for, as
    /// the walk reaches them (`attributes` stays empty). The RED connectors call this for every
    /// span.
    public mutating func read(_ bytes: UnsafeRawBufferPointer, _ payload: Range<Int>, matching matcher: OTLPAttributeMatcher,
                              into values: UnsafeMutableBufferPointer<Range<Int>?>) throws(OTLPDecodeError) {
        if !attributes.isEmpty { attributes.removeAll(keepingCapacity: true) }
        // The sink holds the matcher's keys as plain values; the matcher, a parameter, lives
        // (and with it the memory they point to) until this call returns.
        var sink = AttributeMatch(keys: matcher.keys, values: values)
        try walk(bytes, payload, &sink)
    }

    /// What a span walk does with each attribute (`KeyValue`) it passes.
    private protocol AttributeSink {
        mutating func attribute(_ bytes: UnsafeRawBufferPointer, _ keyValue: Range<Int>)
    }

    private struct AttributeList: AttributeSink {
        var list: [Range<Int>] = []
        @inline(__always)
        mutating func attribute(_ bytes: UnsafeRawBufferPointer, _ keyValue: Range<Int>) { list.append(keyValue) }
    }

    private struct AttributeMatch: AttributeSink {
        let keys: OTLPAttributeMatcher.Keys
        let values: UnsafeMutableBufferPointer<Range<Int>?>
        @inline(__always)
        func attribute(_ bytes: UnsafeRawBufferPointer, _ keyValue: Range<Int>) { keys.fill(bytes, keyValue, into: values) }
    }

    /// The one walk over a span's fields, every field but the attributes into this value, the
    /// attributes to `sink`. Fields with one- or two-byte lengths, the times, a one-byte kind
    /// and `flags` are read in place; any other shape by the general reader, one field at a time.
    @inline(__always)
    private mutating func walk<Sink: AttributeSink>(_ bytes: UnsafeRawBufferPointer, _ payload: Range<Int>,
                                                    _ sink: inout Sink) throws(OTLPDecodeError) {
        traceID = 0..<0
        spanID = 0..<0
        traceState = 0..<0
        parentSpanID = 0..<0
        name = 0..<0
        kind = 0
        startTimeUnixNano = 0
        endTimeUnixNano = 0
        statusCode = 0
        guard let base = bytes.baseAddress else { return }
        var p = payload.lowerBound
        let end = payload.upperBound
        while p < end {
            let tag = base.load(fromByteOffset: p, as: UInt8.self)
            if tag & 0x87 == 0x02, end &- p >= 3 {
                // A length-delimited field 1-15 with a one- or two-byte length.
                var length = Int(base.load(fromByteOffset: p &+ 1, as: UInt8.self))
                var start = p &+ 2
                if length >= 0x80 {
                    let b1 = Int(base.load(fromByteOffset: p &+ 2, as: UInt8.self))
                    length = (length & 0x7F) | b1 << 7
                    start = p &+ 3
                    if b1 >= 0x80 { start = -1 }
                }
                if start >= 0, length <= end &- start {
                    let range = start..<(start &+ length)
                    switch tag {
                    case 0x4A: sink.attribute(bytes, range)
                    case 0x0A: traceID = range
                    case 0x12: spanID = range
                    case 0x1A: traceState = range
                    case 0x22: parentSpanID = range
                    case 0x2A: name = range
                    case 0x32, 0x3A, 0x42:   // kind, start, end: never length-delimited (as the general reader says)
                        throw OTLPDecodeError.malformed(.traces, ProtoWire.WireError("field \(tag >> 3) is length-delimited", offset: p).detail)
                    case 0x7A:
                        do throws(ProtoWire.WireError) {
                            statusCode = try Self.statusCode(bytes, range, else: statusCode)
                        } catch {
                            throw OTLPDecodeError.malformed(.traces, error.detail)
                        }
                    default: break
                    }
                    p = range.upperBound
                    continue
                }
            } else if tag == 0x39 || tag == 0x41, end &- p >= 9 {
                let value = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: p &+ 1, as: UInt64.self))
                if tag == 0x39 { startTimeUnixNano = value } else { endTimeUnixNano = value }
                p &+= 9
                continue
            } else if tag == 0x30, end &- p >= 2, base.load(fromByteOffset: p &+ 1, as: UInt8.self) < 0x80 {
                kind = Int(base.load(fromByteOffset: p &+ 1, as: UInt8.self))
                p &+= 2
                continue
            } else if tag == 0x85, end &- p >= 6, base.load(fromByteOffset: p &+ 1, as: UInt8.self) == 0x01 {
                p &+= 6   // 16: flags (fixed32), skipped
                continue
            }
            // Any other shape: the general reader, one field.
            do throws(ProtoWire.WireError) {
                var reader = ProtoWire.Reader(bytes, range: p..<end)
                guard let field = try reader.next() else { break }
                p = reader.position
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
                case 9: sink.attribute(bytes, try Self.bytesField(field))
                case 15:
                    try OTLPScanner.expect(field, .lengthDelimited)
                    statusCode = try Self.statusCode(bytes, field.payload, else: statusCode)
                default: continue
                }
            } catch {
                throw OTLPDecodeError.malformed(.traces, error.detail)
            }
        }
    }

    /// `code` of the `Status` message at `range` (the last one wins), `current` without one (a
    /// repeated message merges into the earlier one).
    private static func statusCode(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, else current: Int) throws(ProtoWire.WireError) -> Int {
        var code = current
        var status = ProtoWire.Reader(bytes, range: range)
        while let s = try status.next() {
            guard s.number == 3 else { continue }
            try OTLPScanner.expect(s, .varint)
            var v = ProtoWire.Reader(bytes, range: s.payload)
            code = Int(truncatingIfNeeded: try v.readVarint())
        }
        return code
    }

    static func bytesField(_ field: ProtoWire.Field) throws(ProtoWire.WireError) -> Range<Int> {
        try OTLPScanner.expect(field, .lengthDelimited)
        return field.payload
    }
}

/// The few fields of a `Span` a head sampler reads: the trace id, the tracestate (and where
/// a new one goes) and the value of one attribute (`sampling.priority`). Lighter than
/// `OTLPSpanFields`: no attribute list is built, and an attribute's key is compared in place.
public struct OTLPSpanSamplingFields: Sendable {
    public var traceID: Range<Int> = 0..<0
    /// `trace_state` text, empty when absent.
    public var traceState: Range<Int> = 0..<0
    /// The whole `trace_state` field (key and length included), nil when absent.
    public var traceStateField: Range<Int>?
    /// Where a `trace_state` field goes when there is none: after `span_id` (or `trace_id`),
    /// as field order has it.
    public var traceStateInsertion = 0
    /// The value of the first attribute whose key is the one asked for.
    public var attribute: OTLPValue?

    public init() {}

    /// Reads the span at `payload` of `bytes`, looking for the attribute `key`. One tight walk
    /// over the span's fields (this runs for every span of every request).
    public mutating func read(_ bytes: UnsafeRawBufferPointer, _ payload: Range<Int>, attributeKey key: [UInt8]) throws(OTLPDecodeError) {
        traceID = 0..<0
        traceState = 0..<0
        traceStateField = nil
        traceStateInsertion = payload.lowerBound
        attribute = nil
        guard let base = bytes.baseAddress, !payload.isEmpty else { return }
        var p = payload.lowerBound
        let end = payload.upperBound
        var insertion = payload.lowerBound
        defer { traceStateInsertion = insertion }
        while p < end {
            let start = p
            // Fast path: a one-byte key of a length-delimited field with a one-byte length.
            let first = base.load(fromByteOffset: p, as: UInt8.self)
            if first & 0x87 == 0x02, end &- p >= 2 {
                let length = Int(base.load(fromByteOffset: p &+ 1, as: UInt8.self))
                if length < 0x80 {
                    let fieldEnd = p &+ 2 &+ length
                    guard fieldEnd <= end else { throw Self.malformed("truncated length-delimited field", start) }
                    switch first {
                    case 0x4A:  // 9: attributes
                        if attribute == nil, Self.keyMatches(bytes, (p &+ 2)..<fieldEnd, key) {
                            attribute = OTLPAttributes.find(bytes, [(p &+ 2)..<fieldEnd], key: key)
                        }
                    case 0x0A:  // 1: trace_id
                        traceID = (p &+ 2)..<fieldEnd
                        insertion = max(insertion, fieldEnd)
                    case 0x12: insertion = max(insertion, fieldEnd)  // 2: span_id
                    case 0x1A:  // 3: trace_state
                        traceState = (p &+ 2)..<fieldEnd
                        traceStateField = start..<fieldEnd
                    default: break
                    }
                    p = fieldEnd
                    continue
                }
            }
            guard let tag = Self.varint(bytes, &p, end) else { throw Self.malformed("truncated field key", start) }
            let number = tag >> 3
            switch tag & 7 {
            case 0:
                guard Self.varint(bytes, &p, end) != nil else { throw Self.malformed("truncated varint", start) }
            case 1:
                guard end - p >= 8 else { throw Self.malformed("truncated fixed64 field", start) }
                p += 8
            case 5:
                guard end - p >= 4 else { throw Self.malformed("truncated fixed32 field", start) }
                p += 4
            case 2:
                guard let length = Self.varint(bytes, &p, end), length <= UInt64(end - p) else {
                    throw Self.malformed("truncated length-delimited field", start)
                }
                let field = p..<(p + Int(length))
                p = field.upperBound
                switch number {
                case 1:
                    traceID = field
                    insertion = max(insertion, p)
                case 2: insertion = max(insertion, p)
                case 3:
                    traceState = field
                    traceStateField = start..<p
                case 9:
                    if attribute == nil, Self.keyMatches(bytes, field, key) {
                        attribute = OTLPAttributes.find(bytes, [field], key: key)
                    }
                default: break
                }
                continue
            default:
                throw Self.malformed("unsupported wire type \(tag & 7)", start)
            }
            if number == 1 || number == 2 || number == 3 || number == 9 {
                throw Self.malformed("field \(number) is not length-delimited", start)
            }
            if number == 0 { throw Self.malformed("invalid field number 0", start) }
        }
    }

    /// The varint at `p` (advanced past it) with the codec's reader; nil when malformed.
    @inline(__always)
    static func varint(_ bytes: UnsafeRawBufferPointer, _ p: inout Int, _ end: Int) -> UInt64? {
        var reader = ProtoWire.Reader(bytes, range: p..<end)
        guard let value = try? reader.readVarint() else { return nil }
        p = reader.position
        return value
    }

    static func malformed(_ reason: String, _ offset: Int) -> OTLPDecodeError {
        OTLPDecodeError.malformed(.traces, ProtoWire.WireError(reason, offset: offset).detail)
    }

    /// Whether the `KeyValue` at `kv` may have the key `key`: exact when the key is the first
    /// field with a one-byte length (as every encoder writes it), otherwise left to a full read.
    @inline(__always)
    static func keyMatches(_ bytes: UnsafeRawBufferPointer, _ kv: Range<Int>, _ key: [UInt8]) -> Bool {
        guard !key.isEmpty else { return false }
        guard kv.count >= 2, bytes[kv.lowerBound] == 0x0A, bytes[kv.lowerBound + 1] < 0x80 else { return kv.count >= 2 }
        let length = Int(bytes[kv.lowerBound + 1])
        guard length == key.count, kv.count >= 2 + length else { return false }
        return key.withUnsafeBytes { k in memcmp(bytes.baseAddress! + kv.lowerBound + 2, k.baseAddress!, length) == 0 }
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

    /// The key of the `KeyValue` message at `keyValue`, as `read` finds it, without decoding the
    /// value: in place when the message is a key then at most one value (as encoders write it).
    @inline(__always)
    public static func key(_ bytes: UnsafeRawBufferPointer, _ keyValue: Range<Int>) -> Range<Int> {
        keyAndValue(bytes, keyValue).key
    }

    /// Where the key and the `AnyValue` of the `KeyValue` at `keyValue` are (the last of
    /// repeated fields wins; a missing part is an empty range at the message's start). Read in
    /// place when the message is a key then at most one value with one-byte lengths.
    @inline(__always)
    public static func keyAndValue(_ bytes: UnsafeRawBufferPointer, _ keyValue: Range<Int>) -> (key: Range<Int>, value: Range<Int>) {
        let s = keyValue.lowerBound, e = keyValue.upperBound
        let none = s..<s
        if e &- s >= 2, bytes[s] == 0x0A, bytes[s &+ 1] < 0x80 {
            let keyEnd = s &+ 2 &+ Int(bytes[s &+ 1])
            if keyEnd == e { return ((s &+ 2)..<keyEnd, none) }
            if e &- keyEnd >= 2, bytes[keyEnd] == 0x12, bytes[keyEnd &+ 1] < 0x80,
               keyEnd &+ 2 &+ Int(bytes[keyEnd &+ 1]) == e {
                return ((s &+ 2)..<keyEnd, (keyEnd &+ 2)..<e)
            }
        }
        var key = none, value = none
        var reader = ProtoWire.Reader(bytes, range: keyValue)
        while let field = try? reader.next() {
            guard field.wireType == .lengthDelimited else { continue }
            if field.number == 1 { key = field.payload }
            if field.number == 2 { value = field.payload }
        }
        return (key, value)
    }

    /// The value of an `AnyValue` message.
    public static func anyValue(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> OTLPValue {
        // One field with a one-byte length or value, as encoders write a scalar: read in place.
        let s = range.lowerBound, n = range.count
        if n >= 2, bytes[s &+ 1] < 0x80 {
            switch bytes[s] {
            case 0x0A where 2 &+ Int(bytes[s &+ 1]) == n: return .string((s &+ 2)..<range.upperBound)
            case 0x18 where n == 2: return .int(Int64(bytes[s &+ 1]))
            case 0x10 where n == 2: return .bool(bytes[s &+ 1] != 0)
            default: break
            }
        }
        return readAnyValue(bytes, range)
    }

    /// `anyValue` by the general reader, field by field (the last value field wins).
    static func readAnyValue(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> OTLPValue {
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
        guard range.count == text.count else { return false }
        guard let base = bytes.baseAddress, !text.isEmpty else { return true }
        return text.withUnsafeBytes { memcmp(base + range.lowerBound, $0.baseAddress!, text.count) == 0 }
    }

    /// The key and value of the `KeyValue` at `keyValue` as Swift values (strings decoded;
    /// bytes, arrays and maps as an empty `.other`).
    public static func decoded(_ bytes: UnsafeRawBufferPointer, _ keyValue: Range<Int>) -> (key: String, value: OTLPMetricPoints.Value) {
        let (key, value) = keyAndValue(bytes, keyValue)
        let typed: OTLPMetricPoints.Value = switch anyValue(bytes, value) {
        case .string(let r): .string(string(bytes, r))
        case .bool(let b): .bool(b)
        case .int(let i): .int(i)
        case .double(let d): .double(d)
        case .other: .other("")
        }
        return (string(bytes, key), typed)
    }

    /// `equal` against bytes that are not an array (no reference counting in hot loops).
    @inline(__always)
    public static func equal(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ text: UnsafeRawBufferPointer) -> Bool {
        guard range.count == text.count else { return false }
        guard let base = bytes.baseAddress, let other = text.baseAddress, text.count > 0 else { return true }
        return memcmp(base + range.lowerBound, other, text.count) == 0
    }

    public static func string(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}

/// Rewriting fields of a message, for processors that edit items (the log sampler's attributes).
public enum OTLPFieldEdit {
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

/// Protobuf writing for processors that rebuild a few messages of a request (the resource and
/// attributes processors): the codec's own writer, public.
public struct OTLPWireWriter: Sendable {
    var w: ProtoWire.Writer

    public init(capacity: Int = 0) { w = ProtoWire.Writer(capacity: capacity) }

    /// A writer into `buffer`'s storage (emptied, its capacity kept and raised to `capacity`).
    public init(reusing buffer: [UInt8], capacity: Int) {
        var buffer = buffer
        buffer.removeAll(keepingCapacity: true)
        buffer.reserveCapacity(capacity)
        w = ProtoWire.Writer(appendingTo: buffer)
    }

    public var bytes: [UInt8] { w.bytes }
    public var count: Int { w.bytes.count }

    /// The bytes written, handed over (the writer is left empty).
    public mutating func take() -> [UInt8] {
        defer { w.bytes = [] }
        return w.bytes
    }

    /// A length-delimited field holding `payload`.
    public mutating func bytesField(_ number: UInt32, _ payload: UnsafeRawBufferPointer) {
        w.appendLengthDelimitedHeader(number, payloadSize: payload.count)
        w.bytes.append(contentsOf: payload)
    }

    public mutating func bytesField(_ number: UInt32, _ payload: [UInt8]) {
        payload.withUnsafeBytes { bytesField(number, $0) }
    }

    /// The key and length of a length-delimited field whose `size` bytes the caller writes next.
    public mutating func lengthDelimitedHeader(_ number: UInt32, _ size: Int) {
        w.appendLengthDelimitedHeader(number, payloadSize: size)
    }

    public mutating func varintField(_ number: UInt32, _ value: UInt64) {
        w.appendKey(number, .varint)
        w.appendVarint(value)
    }

    public mutating func fixed64Field(_ number: UInt32, _ value: UInt64) {
        w.appendKey(number, .fixed64)
        withUnsafeBytes(of: value.littleEndian) { w.bytes.append(contentsOf: $0) }
    }

    /// Bytes copied as they are (whole fields of the source).
    public mutating func raw(_ source: UnsafeRawBufferPointer, _ range: Range<Int>) { w.appendRaw(source, range) }

    /// Bytes written earlier (whole fields), appended as they are.
    public mutating func raw(_ bytes: [UInt8]) { w.bytes.append(contentsOf: bytes) }

    /// A fixed64 value without a key (an element of a packed field).
    public mutating func fixed64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { w.bytes.append(contentsOf: $0) }
    }
}

/// The top-level fields of a message, for walking a request without decoding it.
public enum OTLPMessageFields {
    /// The value of a varint field whose payload is `payload` (as `each` gives it).
    public static func varint(_ bytes: UnsafeRawBufferPointer, _ payload: Range<Int>) -> UInt64? {
        var reader = ProtoWire.Reader(bytes, range: payload)
        return try? reader.readVarint()
    }

    /// Each field of the message at `range`: its number, whole range and payload range
    /// (length-delimited payloads without their length). Throws on bad framing.
    public static func each(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>,
                            _ body: (_ number: UInt32, _ whole: Range<Int>, _ payload: Range<Int>, _ lengthDelimited: Bool) throws -> Void) throws {
        var reader = ProtoWire.Reader(bytes, range: range)
        while true {
            let next: ProtoWire.Field?
            do { next = try reader.next() } catch { throw OTLPDecodeError.malformed(.traces, error.detail) }
            guard let field = next else { return }
            try body(field.number, field.whole, field.payload, field.wireType == .lengthDelimited)
        }
    }
}
