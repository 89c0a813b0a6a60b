/// Where the parts of a serialized export request (traces or logs) are, for processors that
/// keep, drop or rewrite single spans / log records on the wire (the samplers): only the
/// request, resource and scope levels are parsed, the items are located, not decoded.
///
/// `write` produces a request holding a chosen subset of the items, in wire order, each item
/// either copied or replaced by new bytes. A resource or scope entry is written only when one of
/// its items is, with all its other fields (`resource`, `scope`, `schema_url`, unknown fields)
/// copied before its items; entries left without items are dropped, as the OTel Collector's
/// processors drop them. Indexes are positions in `items`.
public struct OTLPRequestLayout: Sendable {
    public struct Item: Sendable {
        /// The whole `spans` / `log_records` field (key and length included).
        public var whole: Range<Int>
        /// The Span / LogRecord message itself.
        public var payload: Range<Int>
        public var scope: Int
    }

    public struct Scope: Sendable {
        public var resource: Int
        /// Whole fields other than the items, in order.
        public var header: [Range<Int>]
        /// The `InstrumentationScope` message, if present.
        public var scopeMessage: Range<Int>?
    }

    public struct Resource: Sendable {
        public var header: [Range<Int>]
        /// The `Resource` message, if present (its attributes are field 1).
        public var resourceMessage: Range<Int>?
    }

    public private(set) var resources: [Resource] = []
    public private(set) var scopes: [Scope] = []
    public private(set) var items: [Item] = []

    /// Lays out `bytes`; throws `.malformedProtobuf` for invalid framing of the parsed levels.
    public init(_ signal: OTLPSignal, _ bytes: UnsafeRawBufferPointer) throws(OTLPDecodeError) {
        do throws(ProtoWire.WireError) {
            try parse(bytes)
        } catch {
            throw OTLPDecodeError.malformed(signal, error.detail)
        }
    }

    private mutating func parse(_ bytes: UnsafeRawBufferPointer) throws(ProtoWire.WireError) {
        var request = ProtoWire.Reader(bytes, range: 0..<bytes.count)
        while let entry = try request.next() {
            guard entry.number == 1 else { continue }
            try OTLPScanner.expect(entry, .lengthDelimited)
            var resource = Resource(header: [], resourceMessage: nil)
            let resourceIndex = resources.count
            var reader = ProtoWire.Reader(bytes, range: entry.payload)
            while let field = try reader.next() {
                guard field.number == 2 else {
                    if field.number == 1, field.wireType == .lengthDelimited { resource.resourceMessage = field.payload }
                    resource.header.append(field.whole)
                    continue
                }
                try OTLPScanner.expect(field, .lengthDelimited)
                var scope = Scope(resource: resourceIndex, header: [], scopeMessage: nil)
                let scopeIndex = scopes.count
                var scopeReader = ProtoWire.Reader(bytes, range: field.payload)
                while let inner = try scopeReader.next() {
                    if inner.number == 2 {
                        try OTLPScanner.expect(inner, .lengthDelimited)
                        items.append(Item(whole: inner.whole, payload: inner.payload, scope: scopeIndex))
                    } else {
                        if inner.number == 1, inner.wireType == .lengthDelimited { scope.scopeMessage = inner.payload }
                        scope.header.append(inner.whole)
                    }
                }
                scopes.append(scope)
            }
            resources.append(resource)
        }
    }

    /// The request holding the items at `selected` (ascending positions in `items`), each one
    /// copied from `source` or, where `replacement` returns bytes, replaced by that serialized
    /// Span / LogRecord message.
    public func write(_ selected: some Collection<Int>, from source: UnsafeRawBufferPointer,
                      replacement: (Int) -> [UInt8]? = { _ in nil }) -> [UInt8] {
        // Per item its field size; per scope and resource run the body sizes, in one pass.
        var runs: [(resource: Int, bodySize: Int, scopes: [(scope: Int, bodySize: Int, items: [(Int, [UInt8]?)])])] = []
        for index in selected {
            let item = items[index]
            let scope = scopes[item.scope]
            let replaced = replacement(index)
            let size = replaced.map { ProtoWire.lengthDelimitedFieldSize(payloadSize: $0.count) } ?? item.whole.count
            if runs.last?.resource != scope.resource {
                runs.append((scope.resource, resources[scope.resource].header.reduce(0) { $0 + $1.count }, []))
            }
            let r = runs.count - 1
            if runs[r].scopes.last?.scope != item.scope {
                runs[r].scopes.append((item.scope, scope.header.reduce(0) { $0 + $1.count }, []))
            }
            let s = runs[r].scopes.count - 1
            runs[r].scopes[s].bodySize += size
            runs[r].scopes[s].items.append((index, replaced))
        }
        var total = 0
        for r in runs.indices {
            for s in runs[r].scopes { runs[r].bodySize += ProtoWire.lengthDelimitedFieldSize(payloadSize: s.bodySize) }
            total += ProtoWire.lengthDelimitedFieldSize(payloadSize: runs[r].bodySize)
        }
        var w = ProtoWire.Writer(capacity: total)
        for run in runs {
            w.appendLengthDelimitedHeader(1, payloadSize: run.bodySize)
            for range in resources[run.resource].header { w.appendRaw(source, range) }
            for scopeRun in run.scopes {
                w.appendLengthDelimitedHeader(2, payloadSize: scopeRun.bodySize)
                for range in scopes[scopeRun.scope].header { w.appendRaw(source, range) }
                for (index, replaced) in scopeRun.items {
                    if let replaced {
                        w.appendLengthDelimitedHeader(2, payloadSize: replaced.count)
                        w.bytes.append(contentsOf: replaced)
                    } else {
                        w.appendRaw(source, items[index].whole)
                    }
                }
            }
        }
        assert(w.bytes.count == total)
        return w.bytes
    }
}
