/// Reads what a trace store indexes from serialized export requests, on the wire format and
/// without decoding: per span its ids, name, times and error status; per log record its trace
/// context and time; per resource entry its `service.name`.
///
/// Only the fields read are checked for their wire type (a mismatch throws, as protobuf-c would
/// reject it); everything else is skipped by its framing, which is checked all the way down to
/// the items. Thread-safe; no shared state.
public enum OTLPScanner {
    /// The number of resource entries (field 1: `resource_spans` / `resource_logs`) of a
    /// serialized export request; 0 when its top level does not parse.
    public static func resourceCount(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { raw -> Int in
            var reader = ProtoWire.Reader(raw, range: 0..<raw.count)
            var count = 0
            while true {
                guard let field = try? reader.next() else { return count }
                if field.number == 1 { count += 1 }
            }
        }
    }

    /// The service of a resource without a `service.name` string attribute (the name OTel
    /// SDKs fall back to).
    public static let unknownService = "unknown_service"

    /// The spans of a serialized `ExportTraceServiceRequest`, in wire order.
    public static func spans(_ bytes: [UInt8]) throws(OTLPDecodeError) -> OTLPSpanScan {
        try bytes.withBytes { (raw) throws(OTLPDecodeError) in try spans(raw) }
    }

    /// Same, reading borrowed memory; `expected`: how many spans the caller knows it holds
    /// (room reserved for them at once).
    public static func spans(_ bytes: UnsafeRawBufferPointer, expected: Int = 0) throws(OTLPDecodeError) -> OTLPSpanScan {
        var out = OTLPSpanScan(services: [], spans: [])
        out.spans.reserveCapacity(expected)
        do throws(ProtoWire.WireError) {
            try walk(bytes, services: &out.services, entries: &out.entries) { (raw, item, resource) throws(ProtoWire.WireError) in
                out.spans.append(try spanFacts(raw, item, resource: resource))
            }
        } catch {
            throw OTLPDecodeError.malformed(.traces, error.detail)
        }
        return out
    }

    /// The log records of a serialized `ExportLogsServiceRequest`, in wire order.
    public static func logs(_ bytes: [UInt8]) throws(OTLPDecodeError) -> OTLPLogScan {
        try bytes.withBytes { (raw) throws(OTLPDecodeError) in try logs(raw) }
    }

    /// Same, reading borrowed memory; `expected` as for `spans`.
    public static func logs(_ bytes: UnsafeRawBufferPointer, expected: Int = 0) throws(OTLPDecodeError) -> OTLPLogScan {
        var out = OTLPLogScan(services: [], records: [])
        out.records.reserveCapacity(expected)
        do throws(ProtoWire.WireError) {
            try walk(bytes, services: &out.services, entries: &out.entries) { (raw, item, resource) throws(ProtoWire.WireError) in
                out.records.append(try logFacts(raw, item, resource: resource))
            }
        } catch {
            throw OTLPDecodeError.malformed(.logs, error.detail)
        }
        return out
    }

    // MARK: Walking

    /// Calls `item` with the payload range of every span / log record and the index of its
    /// resource entry; fills `services` with one name per resource entry and `entries` with
    /// each entry's whole field (key included).
    /// Both signals share the layout request.1 -> resource entry, .1 resource, .2 scope entry,
    /// scope entry .2 item.
    static func walk(
        _ bytes: UnsafeRawBufferPointer, services: inout [String], entries: inout [Range<Int>],
        item: (UnsafeRawBufferPointer, Range<Int>, Int) throws(ProtoWire.WireError) -> Void
    ) throws(ProtoWire.WireError) {
        var request = ProtoWire.Reader(bytes, range: 0..<bytes.count)
        while let entry = try request.next() {
            guard entry.number == 1 else { continue }
            try expect(entry, .lengthDelimited)
            let resourceIndex = services.count
            services.append(unknownService)
            entries.append(entry.whole)
            var reader = ProtoWire.Reader(bytes, range: entry.payload)
            while let field = try reader.next() {
                switch field.number {
                case 1:
                    try expect(field, .lengthDelimited)
                    if let name = try serviceName(bytes, field.payload) { services[resourceIndex] = name }
                case 2:
                    try expect(field, .lengthDelimited)
                    var scope = ProtoWire.Reader(bytes, range: field.payload)
                    while let inner = try scope.next() {
                        guard inner.number == 2 else { continue }
                        try expect(inner, .lengthDelimited)
                        try item(bytes, inner.payload, resourceIndex)
                    }
                default:
                    continue
                }
            }
        }
    }

    /// The first `service.name` attribute with a string value of a `Resource`, or nil.
    static func serviceName(_ bytes: UnsafeRawBufferPointer, _ resource: Range<Int>) throws(ProtoWire.WireError) -> String? {
        var reader = ProtoWire.Reader(bytes, range: resource)
        while let field = try reader.next() {
            guard field.number == 1, field.wireType == .lengthDelimited else { continue }
            if let (key, value) = try stringAttribute(bytes, field.payload),
               equals(bytes, key, "service.name") {
                return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[value]), as: UTF8.self)
            }
        }
        return nil
    }

    /// The key range and string-value range of a `KeyValue` whose value is a string, or nil.
    static func stringAttribute(
        _ bytes: UnsafeRawBufferPointer, _ keyValue: Range<Int>
    ) throws(ProtoWire.WireError) -> (key: Range<Int>, value: Range<Int>)? {
        var key: Range<Int>?
        var value: Range<Int>?
        var reader = ProtoWire.Reader(bytes, range: keyValue)
        while let field = try reader.next() {
            if field.number == 1, field.wireType == .lengthDelimited { key = field.payload }
            if field.number == 2, field.wireType == .lengthDelimited {
                var any = ProtoWire.Reader(bytes, range: field.payload)
                value = nil
                while let v = try any.next() {
                    if v.number == 1, v.wireType == .lengthDelimited { value = v.payload }
                }
            }
        }
        guard let key, let value else { return nil }
        return (key, value)
    }

    static func equals(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ text: StaticString) -> Bool {
        guard range.count == text.utf8CodeUnitCount else { return false }
        let expected = UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        return UnsafeRawBufferPointer(rebasing: bytes[range]).elementsEqual(expected)
    }

    static func expect(_ field: ProtoWire.Field, _ type: ProtoWire.WireType) throws(ProtoWire.WireError) {
        guard field.wireType == type else {
            throw ProtoWire.WireError("field \(field.number) has wire type \(field.wireType.rawValue), expected \(type.rawValue)", offset: field.start)
        }
    }

    static func fixed64(_ bytes: UnsafeRawBufferPointer, _ field: ProtoWire.Field) throws(ProtoWire.WireError) -> UInt64 {
        try expect(field, .fixed64)
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: field.payloadStart, as: UInt64.self))
    }

    // MARK: Items

    static func spanFacts(_ bytes: UnsafeRawBufferPointer, _ span: Range<Int>, resource: Int) throws(ProtoWire.WireError) -> OTLPSpanFacts {
        var facts = OTLPSpanFacts(resource: resource)
        var reader = ProtoWire.Reader(bytes, range: span)
        while let field = try reader.next() {
            switch field.number {
            case 1:
                try expect(field, .lengthDelimited)
                facts.traceID = OTLPTraceID(bytes, field.payload)
            case 2:
                try expect(field, .lengthDelimited)
                facts.spanID = OTLPSpanIDValue.read(bytes, field.payload)
            case 4:
                try expect(field, .lengthDelimited)
                facts.parentSpanID = OTLPSpanIDValue.read(bytes, field.payload)
            case 5:
                try expect(field, .lengthDelimited)
                facts.name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.payload]), as: UTF8.self)
            case 7:
                facts.startTimeUnixNano = try fixed64(bytes, field)
            case 8:
                facts.endTimeUnixNano = try fixed64(bytes, field)
            case 15:
                try expect(field, .lengthDelimited)
                facts.isError = try statusIsError(bytes, field.payload)
            default:
                continue
            }
        }
        return facts
    }

    /// `Status.code` (field 3) == `STATUS_CODE_ERROR` (2).
    static func statusIsError(_ bytes: UnsafeRawBufferPointer, _ status: Range<Int>) throws(ProtoWire.WireError) -> Bool {
        var code: UInt64 = 0
        var reader = ProtoWire.Reader(bytes, range: status)
        while let field = try reader.next() {
            guard field.number == 3 else { continue }
            try expect(field, .varint)
            var value = ProtoWire.Reader(bytes, range: field.payload)
            code = try value.readVarint()
        }
        return code == 2
    }

    static func logFacts(_ bytes: UnsafeRawBufferPointer, _ record: Range<Int>, resource: Int) throws(ProtoWire.WireError) -> OTLPLogFacts {
        var facts = OTLPLogFacts(resource: resource)
        var observed: UInt64 = 0
        var reader = ProtoWire.Reader(bytes, range: record)
        while let field = try reader.next() {
            switch field.number {
            case 1:
                facts.timeUnixNano = try fixed64(bytes, field)
            case 9:
                try expect(field, .lengthDelimited)
                facts.traceID = OTLPTraceID(bytes, field.payload)
            case 10:
                try expect(field, .lengthDelimited)
                facts.spanID = OTLPSpanIDValue.read(bytes, field.payload)
            case 11:
                observed = try fixed64(bytes, field)
            default:
                continue
            }
        }
        if facts.timeUnixNano == 0 { facts.timeUnixNano = observed }
        return facts
    }
}

/// What `OTLPScanner.spans` finds in one request.
public struct OTLPSpanScan: Sendable {
    /// `service.name` of each resource entry, in wire order (`OTLPScanner.unknownService`
    /// when absent).
    public var services: [String]
    /// Every span, in wire order.
    public var spans: [OTLPSpanFacts]
    /// Each resource entry's whole field (key and length included) in the request, in wire
    /// order: the request's bytes of that entry alone are a request too.
    public var entries: [Range<Int>] = []

    public init(services: [String] = [], spans: [OTLPSpanFacts] = [], entries: [Range<Int>] = []) {
        self.services = services
        self.spans = spans
        self.entries = entries
    }
}

/// What `OTLPScanner.logs` finds in one request.
public struct OTLPLogScan: Sendable {
    public var services: [String]
    public var records: [OTLPLogFacts]
    /// As `OTLPSpanScan.entries`.
    public var entries: [Range<Int>] = []

    public init(services: [String] = [], records: [OTLPLogFacts] = [], entries: [Range<Int>] = []) {
        self.services = services
        self.records = records
        self.entries = entries
    }
}

/// One span as the store indexes it.
public struct OTLPSpanFacts: Sendable, Hashable {
    /// nil when absent, not 16 bytes, or all zero.
    public var traceID: OTLPTraceID?
    /// The span id as a big-endian integer; 0 when absent or not 8 bytes.
    public var spanID: UInt64 = 0
    /// 0 for a root span (no parent, or not 8 bytes).
    public var parentSpanID: UInt64 = 0
    public var name: String = ""
    public var startTimeUnixNano: UInt64 = 0
    public var endTimeUnixNano: UInt64 = 0
    /// `status.code == STATUS_CODE_ERROR`.
    public var isError = false
    /// Index of the span's resource entry in `OTLPSpanScan.services`.
    public var resource: Int

    public init(resource: Int) { self.resource = resource }
}

/// One log record as the store indexes it.
public struct OTLPLogFacts: Sendable, Hashable {
    public var traceID: OTLPTraceID?
    public var spanID: UInt64 = 0
    /// `time_unix_nano`, or `observed_time_unix_nano` when that is 0.
    public var timeUnixNano: UInt64 = 0
    public var resource: Int

    public init(resource: Int) { self.resource = resource }
}
