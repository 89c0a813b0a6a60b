/// A log record as byte ranges of its serialized request, for exporters that re-encode logs
/// without building Strings for every field (the Loki exporter's transcoder). Valid only inside
/// the `OTLPLogRecords.visit` callback that hands it out; ranges index the visited bytes.
public struct OTLPLogRecordView {
    /// A value: `text` is the byte range of a `string_value` that is valid UTF-8; anything else
    /// (other kinds, invalid UTF-8) is `rendered`, the value as `OTLPLogRecords.read` spells it.
    public enum Value {
        case absent
        case text(Range<Int>)
        case rendered(String)
    }

    public struct Attribute {
        public var key: Value
        public var value: Value
    }

    public var timeUnixNano: UInt64 = 0
    public var observedTimeUnixNano: UInt64 = 0
    public var severityNumber = 0
    public var severityText: Value = .absent
    public var body: Value = .absent
    /// Raw id bytes (empty ranges when absent).
    public var traceID: Range<Int> = 0..<0
    public var spanID: Range<Int> = 0..<0
    /// The record's attributes, in wire order.
    public internal(set) var attributes: [Attribute] = []
    /// The attributes of the record's resource, in wire order.
    public internal(set) var resourceAttributes: [Attribute] = []
    /// Where the record's ResourceLogs starts: records of one resource share it.
    public internal(set) var resourceStart = 0
}

extension OTLPLogRecords {
    /// Calls `body` with every log record of `bytes`, in wire order. Reads the same fields as
    /// `read` and fails on the same malformations (before or after some records were visited:
    /// callers that must be all-or-nothing collect first).
    public static func visit(_ bytes: UnsafeRawBufferPointer, _ body: (OTLPLogRecordView) -> Void) throws(OTLPDecodeError) {
        do throws(ProtoWire.WireError) {
            var view = OTLPLogRecordView()
            var request = ProtoWire.Reader(bytes, range: 0..<bytes.count)
            while let entry = try request.next() {
                guard entry.number == 1 else { continue }
                try OTLPScanner.expect(entry, .lengthDelimited)
                view.resourceAttributes.removeAll(keepingCapacity: true)
                view.resourceStart = entry.start
                var scopes: [Range<Int>] = []
                var reader = ProtoWire.Reader(bytes, range: entry.payload)
                while let field = try reader.next() {
                    if field.number == 1 {
                        try OTLPScanner.expect(field, .lengthDelimited)
                        var resource = ProtoWire.Reader(bytes, range: field.payload)
                        while let attribute = try resource.next() {
                            guard attribute.number == 1 else { continue }
                            try OTLPScanner.expect(attribute, .lengthDelimited)
                            view.resourceAttributes.append(try attributeView(bytes, attribute.payload))
                        }
                    } else if field.number == 2 {
                        try OTLPScanner.expect(field, .lengthDelimited)
                        scopes.append(field.payload)
                    }
                }
                for scopeRange in scopes {
                    var scope = ProtoWire.Reader(bytes, range: scopeRange)
                    while let inner = try scope.next() {
                        guard inner.number == 2 else { continue }
                        try OTLPScanner.expect(inner, .lengthDelimited)
                        try recordView(bytes, inner.payload, into: &view)
                        body(view)
                    }
                }
            }
        } catch {
            throw OTLPDecodeError.malformed(.logs, error.detail)
        }
    }

    static func recordView(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, into view: inout OTLPLogRecordView) throws(ProtoWire.WireError) {
        view.timeUnixNano = 0
        view.observedTimeUnixNano = 0
        view.severityNumber = 0
        view.severityText = .absent
        view.body = .absent
        view.traceID = 0..<0
        view.spanID = 0..<0
        view.attributes.removeAll(keepingCapacity: true)
        var reader = ProtoWire.Reader(bytes, range: range)
        while let field = try reader.next() {
            switch field.number {
            case 1: view.timeUnixNano = try OTLPScanner.fixed64(bytes, field)
            case 11: view.observedTimeUnixNano = try OTLPScanner.fixed64(bytes, field)
            case 2:
                try OTLPScanner.expect(field, .varint)
                var value = ProtoWire.Reader(bytes, range: field.payload)
                view.severityNumber = Int(truncatingIfNeeded: try value.readVarint())
            case 3:
                try OTLPScanner.expect(field, .lengthDelimited)
                view.severityText = textValue(bytes, field.payload)
            case 5:
                try OTLPScanner.expect(field, .lengthDelimited)
                view.body = try anyValueView(bytes, field.payload)
            case 6:
                try OTLPScanner.expect(field, .lengthDelimited)
                view.attributes.append(try attributeView(bytes, field.payload))
            case 9:
                try OTLPScanner.expect(field, .lengthDelimited)
                view.traceID = field.payload
            case 10:
                try OTLPScanner.expect(field, .lengthDelimited)
                view.spanID = field.payload
            default:
                continue
            }
        }
    }

    /// Same reading as `keyValue`: the last key and the last value win; a missing key is "".
    static func attributeView(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) throws(ProtoWire.WireError) -> OTLPLogRecordView.Attribute {
        var key = OTLPLogRecordView.Value.text(range.lowerBound..<range.lowerBound)
        var value = OTLPLogRecordView.Value.rendered("")
        var reader = ProtoWire.Reader(bytes, range: range)
        while let field = try reader.next() {
            guard field.wireType == .lengthDelimited else { continue }
            if field.number == 1 { key = textValue(bytes, field.payload) }
            if field.number == 2 { value = try anyValueView(bytes, field.payload) }
        }
        return .init(key: key, value: value)
    }

    /// `anyValue`, but a valid UTF-8 `string_value` stays a byte range.
    static func anyValueView(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) throws(ProtoWire.WireError) -> OTLPLogRecordView.Value {
        var last: ProtoWire.Field?
        var reader = ProtoWire.Reader(bytes, range: range)
        while let field = try reader.next() {
            switch (field.number, field.wireType) {
            case (1, .lengthDelimited), (2, .varint), (3, .varint), (4, .fixed64), (5, .lengthDelimited),
                 (6, .lengthDelimited), (7, .lengthDelimited):
                last = field
            default: continue
            }
        }
        guard let last else { return .rendered("") }
        if last.number == 1 { return textValue(bytes, last.payload) }
        return .rendered(try anyValue(bytes, range))
    }

    static func textValue(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> OTLPLogRecordView.Value {
        isValidUTF8(bytes, range) ? .text(range) : .rendered(text(bytes, range))
    }

    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        let s = UnsafeRawBufferPointer(rebasing: bytes[range])
        var i = 0
        while i < s.count {
            if s[i] < 0x80 { i += 1; continue }
            let n = UTF8Check.sequenceLength(s, at: i)
            if n == 0 { return false }
            i += n
        }
        return true
    }
}
