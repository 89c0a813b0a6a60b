/// A span-level search condition evaluated on the wire format: service, operation (span name)
/// and tags, all on the same span.
///
/// A tag `key=value` matches when the span's attributes or its resource's attributes hold `key`
/// with a value that prints as `value`: strings compare as-is, integers in decimal (`200`),
/// booleans as `true`/`false`, doubles by numeric equality (`0.5`). Array, map and bytes values
/// never match. The pseudo-tag `error=true` matches spans with `status.code` ERROR (Jaeger's
/// convention), when no real `error` attribute decides it.
///
/// A numeric condition `key > value` (and `>=`, `<`, `<=`) matches when the span's or its
/// resource's attributes hold `key` with an integer or double value in that order to `value`:
/// integers against an integer exactly, otherwise as doubles (TraceQL's rules: a string value
/// never compares with a number). At most 64 tags and numeric conditions together.
public struct OTLPSpanQuery: Sendable, Hashable {
    public struct NumericCondition: Sendable, Hashable {
        public enum Comparison: Sendable, Hashable { case greater, greaterOrEqual, less, lessOrEqual }
        public enum Number: Sendable, Hashable {
            case int(Int64)
            case double(Double)
        }

        public var key: String
        public var comparison: Comparison
        public var value: Number

        public init(key: String, _ comparison: Comparison, _ value: Number) {
            self.key = key
            self.comparison = comparison
            self.value = value
        }
    }

    public var service: String?
    public var operation: String?
    public var tags: [String: String]
    public var numeric: [NumericCondition]

    public init(service: String? = nil, operation: String? = nil, tags: [String: String] = [:], numeric: [NumericCondition] = []) {
        self.service = service
        self.operation = operation
        self.tags = tags
        self.numeric = numeric
    }

    /// The trace ids of the spans of `request` (a serialized `ExportTraceServiceRequest`) that
    /// match. Spans without a valid trace id are ignored.
    public func matchingTraces(_ request: [UInt8]) throws(OTLPDecodeError) -> Set<OTLPTraceID> {
        try request.withBytes { (raw) throws(OTLPDecodeError) in try matchingTraces(raw) }
    }

    /// Same, reading borrowed memory.
    public func matchingTraces(_ bytes: UnsafeRawBufferPointer) throws(OTLPDecodeError) -> Set<OTLPTraceID> {
        let matcher = TagMatcher(tags, numeric: numeric)
        var out: Set<OTLPTraceID> = []
        do throws(ProtoWire.WireError) {
            var request = ProtoWire.Reader(bytes, range: 0..<bytes.count)
            while let entry = try request.next() {
                guard entry.number == 1 else { continue }
                try OTLPScanner.expect(entry, .lengthDelimited)
                try scanResource(bytes, entry.payload, matcher, into: &out)
            }
        } catch {
            throw OTLPDecodeError.malformed(.traces, error.detail)
        }
        return out
    }

    private func scanResource(
        _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ matcher: TagMatcher, into out: inout Set<OTLPTraceID>
    ) throws(ProtoWire.WireError) {
        var service = OTLPScanner.unknownService
        var resourceMask: UInt64 = 0
        var scopes: [Range<Int>] = []
        var reader = ProtoWire.Reader(bytes, range: range)
        while let field = try reader.next() {
            if field.number == 1 {
                try OTLPScanner.expect(field, .lengthDelimited)
                if let name = try OTLPScanner.serviceName(bytes, field.payload) { service = name }
                resourceMask |= try matcher.mask(bytes, attributesOf: field.payload, attributeField: 1)
            } else if field.number == 2 {
                try OTLPScanner.expect(field, .lengthDelimited)
                scopes.append(field.payload)
            }
        }
        if let wanted = self.service, wanted != service { return }
        for scope in scopes {
            var scopeReader = ProtoWire.Reader(bytes, range: scope)
            while let item = try scopeReader.next() {
                guard item.number == 2 else { continue }
                try OTLPScanner.expect(item, .lengthDelimited)
                try scanSpan(bytes, item.payload, matcher, resourceMask, into: &out)
            }
        }
    }

    private func scanSpan(
        _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ matcher: TagMatcher, _ resourceMask: UInt64,
        into out: inout Set<OTLPTraceID>
    ) throws(ProtoWire.WireError) {
        let facts = try OTLPScanner.spanFacts(bytes, range, resource: 0)
        guard let id = facts.traceID else { return }
        if let operation, operation != facts.name { return }
        var mask = resourceMask | (try matcher.mask(bytes, attributesOf: range, attributeField: 9))
        if facts.isError, let bit = matcher.errorBit, matcher.spanLacksAttribute(bytes, range, "error") {
            mask |= bit
        }
        if mask == matcher.all { out.insert(id) }
    }
}

/// The tags and numeric conditions of a query, prepared for comparing against wire values.
/// At most 64 together.
private struct TagMatcher {
    struct Tag {
        var key: [UInt8]
        var text: [UInt8]
        var integer: Int64?
        var boolean: Bool?
        var double: Double?
        /// A numeric condition instead of an equality.
        var numeric: OTLPSpanQuery.NumericCondition?
    }

    let tags: [Tag]
    let all: UInt64
    /// The bit of an `error=true` tag, if the query has one.
    let errorBit: UInt64?

    init(_ query: [String: String], numeric: [OTLPSpanQuery.NumericCondition]) {
        let equalities = query.sorted { $0.key < $1.key }.map { key, value in
            Tag(key: Array(key.utf8), text: Array(value.utf8), integer: Int64(value),
                boolean: value == "true" ? true : value == "false" ? false : nil, double: Double(value))
        }
        let ranges = numeric.map { Tag(key: Array($0.key.utf8), text: [], numeric: $0) }
        tags = Array((equalities + ranges).prefix(64))
        all = tags.count == 64 ? ~0 : (1 << UInt64(tags.count)) - 1
        errorBit = tags.firstIndex { $0.key == Array("error".utf8) && $0.text == Array("true".utf8) }
            .map { 1 << UInt64($0) }
    }

    /// Bits of the tags satisfied by the `KeyValue` fields numbered `attributeField` of the
    /// message at `range`.
    func mask(_ bytes: UnsafeRawBufferPointer, attributesOf range: Range<Int>, attributeField: UInt32) throws(ProtoWire.WireError) -> UInt64 {
        guard !tags.isEmpty else { return 0 }
        var mask: UInt64 = 0
        var reader = ProtoWire.Reader(bytes, range: range)
        while let field = try reader.next() {
            guard field.number == attributeField, field.wireType == .lengthDelimited else { continue }
            mask |= try attributeMask(bytes, field.payload)
        }
        return mask
    }

    func spanLacksAttribute(_ bytes: UnsafeRawBufferPointer, _ span: Range<Int>, _ key: StaticString) -> Bool {
        var reader = ProtoWire.Reader(bytes, range: span)
        while let field = try? reader.next() {
            guard field.number == 9, field.wireType == .lengthDelimited else { continue }
            var kv = ProtoWire.Reader(bytes, range: field.payload)
            while let k = try? kv.next() {
                if k.number == 1, OTLPScanner.equals(bytes, k.payload, key) { return false }
            }
        }
        return true
    }

    private func attributeMask(_ bytes: UnsafeRawBufferPointer, _ keyValue: Range<Int>) throws(ProtoWire.WireError) -> UInt64 {
        var key: Range<Int>?
        var value: ProtoWire.Field?
        var reader = ProtoWire.Reader(bytes, range: keyValue)
        while let field = try reader.next() {
            if field.number == 1, field.wireType == .lengthDelimited { key = field.payload }
            if field.number == 2, field.wireType == .lengthDelimited {
                // The last value field with its own wire type, as `OTLPAttributes.anyValue`
                // reads it (unknown fields are skipped, not taken for the value).
                var any = ProtoWire.Reader(bytes, range: field.payload)
                value = nil
                while let v = try any.next() {
                    if Self.isValueField(v) { value = v }
                }
            }
        }
        guard let key, let value else { return 0 }
        let keyBytes = UnsafeRawBufferPointer(rebasing: bytes[key])
        var mask: UInt64 = 0
        for (i, tag) in tags.enumerated() where keyBytes.elementsEqual(tag.key) {
            if try matches(tag, bytes, value) { mask |= 1 << UInt64(i) }
        }
        return mask
    }

    /// AnyValue's fields: string 1, bool 2, int 3, double 4, array 5, kvlist 6, bytes 7.
    private static func isValueField(_ f: ProtoWire.Field) -> Bool {
        switch (f.number, f.wireType) {
        case (1, .lengthDelimited), (2, .varint), (3, .varint), (4, .fixed64), (5, .lengthDelimited), (6, .lengthDelimited),
             (7, .lengthDelimited): true
        default: false
        }
    }

    /// AnyValue: string_value 1, bool_value 2, int_value 3, double_value 4.
    private func matches(_ tag: Tag, _ bytes: UnsafeRawBufferPointer, _ value: ProtoWire.Field) throws(ProtoWire.WireError) -> Bool {
        if let condition = tag.numeric {
            switch (value.number, value.wireType, condition.value) {
            case (3, .varint, .int(let j)):
                var r = ProtoWire.Reader(bytes, range: value.payload)
                return Self.order(Int64(bitPattern: try r.readVarint()), j, condition.comparison)
            case (3, .varint, .double(let d)):
                var r = ProtoWire.Reader(bytes, range: value.payload)
                return Self.order(Double(Int64(bitPattern: try r.readVarint())), d, condition.comparison)
            case (4, .fixed64, let number):
                let x = Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: value.payloadStart, as: UInt64.self)))
                switch number {
                case .int(let j): return Self.order(x, Double(j), condition.comparison)
                case .double(let d): return Self.order(x, d, condition.comparison)
                }
            default:
                return false
            }
        }
        switch (value.number, value.wireType) {
        case (1, .lengthDelimited):
            return UnsafeRawBufferPointer(rebasing: bytes[value.payload]).elementsEqual(tag.text)
        case (2, .varint):
            var r = ProtoWire.Reader(bytes, range: value.payload)
            return tag.boolean == (try r.readVarint() != 0)
        case (3, .varint):
            var r = ProtoWire.Reader(bytes, range: value.payload)
            return tag.integer == Int64(bitPattern: try r.readVarint())
        case (4, .fixed64):
            let raw = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: value.payloadStart, as: UInt64.self))
            return tag.double == Double(bitPattern: raw)
        default:
            return false
        }
    }

    private static func order<T: Comparable>(_ a: T, _ b: T, _ comparison: OTLPSpanQuery.NumericCondition.Comparison) -> Bool {
        switch comparison {
        case .greater: a > b
        case .greaterOrEqual: a >= b
        case .less: a < b
        case .lessOrEqual: a <= b
        }
    }
}
