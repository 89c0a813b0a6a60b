/// Builds one export request that holds exactly the spans (or log records) of one trace, taken
/// from any number of serialized requests, such as the blocks of a trace store.
///
/// Works on the wire format: items are selected by their `trace_id` (span field 1, log record
/// field 9) and copied as raw bytes with their resource and scope entries. Entries are merged
/// when their other fields (the `resource`, `scope`, `schema_url` and unknown fields) are
/// byte-for-byte the same, so one service's spans from many batches come back under one
/// `ResourceSpans`. Order: entries in the order first met, items in the order added.
///
/// Deduplication: a span whose `span_id` was already added is skipped (the same span delivered
/// twice, e.g. a client retry); a log record is skipped when its bytes are identical to one
/// already added. Items without a span id are never considered duplicates.
///
/// A value type with no shared state: one assembler per query.
public struct OTLPTraceAssembler: Sendable {
    public let signal: OTLPSignal
    public let traceID: OTLPTraceID
    /// Items kept so far.
    public private(set) var itemCount = 0
    /// Items skipped as duplicates so far.
    public private(set) var duplicateCount = 0

    private struct ScopeGroup: Sendable {
        var header: [UInt8]
        var items: [UInt8] = []
    }

    private struct ResourceGroup: Sendable {
        var header: [UInt8]
        var scopes: [ScopeGroup] = []
        var scopeIndex: [[UInt8]: Int] = [:]
    }

    private var resources: [ResourceGroup] = []
    private var resourceIndex: [[UInt8]: Int] = [:]
    private var seenSpans: Set<UInt64> = []
    private var seenRecords: Set<[UInt8]> = []

    public init(_ signal: OTLPSignal, traceID: OTLPTraceID) {
        self.signal = signal
        self.traceID = traceID
    }

    /// Adds the items of `request` (a serialized request of `signal`) that belong to the trace.
    public mutating func add(_ request: [UInt8]) throws(OTLPDecodeError) {
        try request.withBytes { (raw) throws(OTLPDecodeError) in try add(raw) }
    }

    /// Same, reading borrowed memory.
    public mutating func add(_ request: UnsafeRawBufferPointer) throws(OTLPDecodeError) {
        do throws(ProtoWire.WireError) {
            try addRequest(request)
        } catch {
            throw OTLPDecodeError.malformed(signal, error.detail)
        }
    }

    /// The assembled request (empty when no item was added).
    public func serialized() -> [UInt8] {
        let scopeBodies = resources.map { r in r.scopes.map { $0.header.count + $0.items.count } }
        let resourceBodies = zip(resources, scopeBodies).map { r, scopes in
            r.header.count + scopes.reduce(0) { $0 + ProtoWire.lengthDelimitedFieldSize(payloadSize: $1) }
        }
        let total = resourceBodies.reduce(0) { $0 + ProtoWire.lengthDelimitedFieldSize(payloadSize: $1) }
        var w = ProtoWire.Writer(capacity: total)
        for (r, resource) in resources.enumerated() {
            w.appendLengthDelimitedHeader(1, payloadSize: resourceBodies[r])
            w.bytes.append(contentsOf: resource.header)
            for (s, scope) in resource.scopes.enumerated() {
                w.appendLengthDelimitedHeader(2, payloadSize: scopeBodies[r][s])
                w.bytes.append(contentsOf: scope.header)
                w.bytes.append(contentsOf: scope.items)
            }
        }
        assert(w.bytes.count == total)
        return w.bytes
    }

    // MARK: Walking

    private mutating func addRequest(_ bytes: UnsafeRawBufferPointer) throws(ProtoWire.WireError) {
        var request = ProtoWire.Reader(bytes, range: 0..<bytes.count)
        while let entry = try request.next() {
            guard entry.number == 1 else { continue }
            try OTLPScanner.expect(entry, .lengthDelimited)
            // The resource entry's own fields, then its scopes (fields may come in any order).
            var header: [UInt8] = []
            var scopes: [ProtoWire.Field] = []
            var reader = ProtoWire.Reader(bytes, range: entry.payload)
            while let field = try reader.next() {
                if field.number == 2 {
                    try OTLPScanner.expect(field, .lengthDelimited)
                    scopes.append(field)
                } else {
                    header.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[field.whole]))
                }
            }
            var resource: Int?
            for scopeField in scopes {
                try addScope(bytes, scopeField.payload, resourceHeader: header, resource: &resource)
            }
        }
    }

    private mutating func addScope(
        _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, resourceHeader: [UInt8], resource: inout Int?
    ) throws(ProtoWire.WireError) {
        var header: [UInt8] = []
        var kept: [Range<Int>] = []
        var reader = ProtoWire.Reader(bytes, range: range)
        while let field = try reader.next() {
            guard field.number == 2 else {
                header.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[field.whole]))
                continue
            }
            try OTLPScanner.expect(field, .lengthDelimited)
            if try keep(bytes, field) { kept.append(field.whole) }
        }
        guard !kept.isEmpty else { return }
        let r = resource ?? resourceGroup(resourceHeader)
        resource = r
        let s: Int
        if let known = resources[r].scopeIndex[header] {
            s = known
        } else {
            s = resources[r].scopes.count
            resources[r].scopes.append(ScopeGroup(header: header))
            resources[r].scopeIndex[header] = s
        }
        for item in kept {
            resources[r].scopes[s].items.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[item]))
        }
        itemCount += kept.count
    }

    private mutating func resourceGroup(_ header: [UInt8]) -> Int {
        if let known = resourceIndex[header] { return known }
        resources.append(ResourceGroup(header: header))
        resourceIndex[header] = resources.count - 1
        return resources.count - 1
    }

    /// Whether the item (a whole span / log record field) belongs to the trace and is new.
    private mutating func keep(_ bytes: UnsafeRawBufferPointer, _ item: ProtoWire.Field) throws(ProtoWire.WireError) -> Bool {
        let traceField: UInt32 = signal == .traces ? 1 : 9
        let spanField: UInt32 = signal == .traces ? 2 : 10
        var matches = false
        var spanID: UInt64 = 0
        var reader = ProtoWire.Reader(bytes, range: item.payload)
        while let field = try reader.next() {
            if field.number == traceField {
                try OTLPScanner.expect(field, .lengthDelimited)
                // The last occurrence wins, as in protobuf decoding.
                matches = OTLPTraceID(bytes, field.payload) == traceID
            } else if field.number == spanField {
                try OTLPScanner.expect(field, .lengthDelimited)
                spanID = OTLPSpanIDValue.read(bytes, field.payload)
            }
        }
        guard matches else { return false }
        if signal == .traces {
            if spanID != 0, !seenSpans.insert(spanID).inserted {
                duplicateCount += 1
                return false
            }
        } else if !seenRecords.insert(Array(UnsafeRawBufferPointer(rebasing: bytes[item.whole]))).inserted {
            duplicateCount += 1
            return false
        }
        return true
    }
}
