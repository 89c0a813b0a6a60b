/// Reads the log records of a serialized `ExportLogsServiceRequest` on the wire format, for
/// exporters that re-encode logs into another shape (Loki): per record its times, severity,
/// body and attributes as text, trace context, and its resource's attributes.
///
/// Values are rendered as text: strings as they are, booleans and numbers in their usual
/// spelling, bytes as lowercase hex, arrays and maps as compact JSON-like text. Only the fields
/// read are checked for their wire type; everything else is skipped by its framing.
/// Thread-safe; no shared state.
public enum OTLPLogRecords {
    /// Every log record of `bytes`, in wire order.
    public static func read(_ bytes: [UInt8]) throws(OTLPDecodeError) -> [OTLPLogRecord] {
        try bytes.withBytes { (raw) throws(OTLPDecodeError) in
            var out: [OTLPLogRecord] = []
            // The resource's attributes are converted once per resource, not per record.
            var resourceStart = -1
            var resource: [(String, String)] = []
            try visit(raw) { view in
                if view.resourceStart != resourceStart {
                    resourceStart = view.resourceStart
                    resource = view.resourceAttributes.map { (string(raw, $0.key), string(raw, $0.value)) }
                }
                var record = OTLPLogRecord()
                record.timeUnixNano = view.timeUnixNano
                record.observedTimeUnixNano = view.observedTimeUnixNano
                record.severityNumber = view.severityNumber
                record.severityText = string(raw, view.severityText)
                record.body = string(raw, view.body)
                record.attributes = view.attributes.map { (string(raw, $0.key), string(raw, $0.value)) }
                record.traceID = hex(raw, view.traceID)
                record.spanID = hex(raw, view.spanID)
                record.resourceAttributes = resource
                out.append(record)
            }
            return out
        }
    }

    /// A view's value as text.
    static func string(_ bytes: UnsafeRawBufferPointer, _ value: OTLPLogRecordView.Value) -> String {
        switch value {
        case .absent: ""
        case .text(let range): text(bytes, range)
        case .rendered(let s): s
        }
    }

    static func keyValue(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) throws(ProtoWire.WireError) -> (String, String) {
        var key = ""
        var value = ""
        var reader = ProtoWire.Reader(bytes, range: range)
        while let field = try reader.next() {
            guard field.wireType == .lengthDelimited else { continue }
            if field.number == 1 { key = text(bytes, field.payload) }
            if field.number == 2 { value = try anyValue(bytes, field.payload) }
        }
        return (key, value)
    }

    /// An `AnyValue` as text (see the type's doc).
    static func anyValue(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) throws(ProtoWire.WireError) -> String {
        var result = ""
        var reader = ProtoWire.Reader(bytes, range: range)
        while let field = try reader.next() {
            switch (field.number, field.wireType) {
            case (1, .lengthDelimited): result = text(bytes, field.payload)
            case (2, .varint):
                var v = ProtoWire.Reader(bytes, range: field.payload)
                result = try v.readVarint() != 0 ? "true" : "false"
            case (3, .varint):
                var v = ProtoWire.Reader(bytes, range: field.payload)
                result = String(Int64(bitPattern: try v.readVarint()))
            case (4, .fixed64):
                result = String(Double(bitPattern: try OTLPScanner.fixed64(bytes, field)))
            case (5, .lengthDelimited):
                var items: [String] = []
                var array = ProtoWire.Reader(bytes, range: field.payload)
                while let item = try array.next() {
                    guard item.number == 1, item.wireType == .lengthDelimited else { continue }
                    items.append(try anyValue(bytes, item.payload))
                }
                result = "[" + items.joined(separator: ",") + "]"
            case (6, .lengthDelimited):
                var pairs: [String] = []
                var list = ProtoWire.Reader(bytes, range: field.payload)
                while let item = try list.next() {
                    guard item.number == 1, item.wireType == .lengthDelimited else { continue }
                    let (k, v) = try keyValue(bytes, item.payload)
                    pairs.append("\(k)=\(v)")
                }
                result = "{" + pairs.joined(separator: ",") + "}"
            case (7, .lengthDelimited): result = hex(bytes, field.payload)
            default: continue
            }
        }
        return result
    }

    static func text(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    static func hex(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        Hex.string(UnsafeRawBufferPointer(rebasing: bytes[range]))
    }
}

/// One log record as `OTLPLogRecords.read` finds it.
public struct OTLPLogRecord: Sendable, Equatable {
    public var timeUnixNano: UInt64 = 0
    public var observedTimeUnixNano: UInt64 = 0
    public var severityNumber = 0
    public var severityText = ""
    /// The body as text ("" when absent).
    public var body = ""
    /// The record's attributes as (key, text) in wire order.
    public var attributes: [(String, String)] = []
    /// Lowercase hex; "" when absent.
    public var traceID = ""
    public var spanID = ""
    /// The attributes of the record's resource, in wire order.
    public var resourceAttributes: [(String, String)] = []

    public init() {}

    public static func == (a: OTLPLogRecord, b: OTLPLogRecord) -> Bool {
        a.timeUnixNano == b.timeUnixNano && a.observedTimeUnixNano == b.observedTimeUnixNano
            && a.severityNumber == b.severityNumber && a.severityText == b.severityText && a.body == b.body
            && a.attributes.elementsEqual(b.attributes, by: ==) && a.traceID == b.traceID && a.spanID == b.spanID
            && a.resourceAttributes.elementsEqual(b.resourceAttributes, by: ==)
    }
}
