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
    /// `expectedItems`: how many items the caller knows the request holds (room reserved).
    public init(_ signal: OTLPSignal, _ bytes: UnsafeRawBufferPointer, expectedItems: Int = 0) throws(OTLPDecodeError) {
        items.reserveCapacity(expectedItems)
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

    /// Visits a request without laying it out: `resource` is called for each resource entry
    /// (its number, counting from 0, and its `Resource` message wherever it sits in the entry),
    /// then `item` for each of that entry's spans / log records, in wire order. Each item is
    /// visited as soon as it is reached, while its bytes are in the cache: a layout first and a
    /// read afterwards brings a large batch through the cache twice, which costs readers that
    /// only look (the span metrics connectors) more than their own work.
    public static func visit(_ signal: OTLPSignal, _ bytes: UnsafeRawBufferPointer,
                             resource: (_ index: Int, _ message: Range<Int>?) throws(OTLPDecodeError) -> Void,
                             item: (_ resource: Int, _ payload: Range<Int>) throws(OTLPDecodeError) -> Void) throws(OTLPDecodeError) {
        func next(_ reader: inout ProtoWire.Reader) throws(OTLPDecodeError) -> ProtoWire.Field? {
            do throws(ProtoWire.WireError) {
                return try reader.next()
            } catch {
                throw OTLPDecodeError.malformed(signal, error.detail)
            }
        }
        func expectLength(_ field: ProtoWire.Field) throws(OTLPDecodeError) {
            do throws(ProtoWire.WireError) {
                try OTLPScanner.expect(field, .lengthDelimited)
            } catch {
                throw OTLPDecodeError.malformed(signal, error.detail)
            }
        }
        var request = ProtoWire.Reader(bytes, range: 0..<bytes.count)
        var index = -1
        while let entry = try next(&request) {
            guard entry.number == 1 else { continue }
            try expectLength(entry)
            index += 1
            var message: Range<Int>?
            var header = ProtoWire.Reader(bytes, range: entry.payload)
            while let field = try next(&header) {
                if field.number == 1 && field.wireType == .lengthDelimited { message = field.payload }
            }
            try resource(index, message)
            var reader = ProtoWire.Reader(bytes, range: entry.payload)
            while let field = try next(&reader) {
                guard field.number == 2 else { continue }
                try expectLength(field)
                var scope = ProtoWire.Reader(bytes, range: field.payload)
                while let inner = try next(&scope) {
                    guard inner.number == 2 else { continue }
                    try expectLength(inner)
                    try item(index, inner.payload)
                }
            }
        }
    }

    /// An item written with one range of its payload replaced: a field cut out and another
    /// put in its place (a sampler's new tracestate), without building the item separately.
    public struct ItemEdit: Sendable {
        public var item: Int
        /// Bytes of the item's payload left out; an empty range marks where to insert.
        public var cut: Range<Int>
        /// What goes in their place: a range of the edit buffer passed to `write`.
        public var insert: Range<Int>

        public init(item: Int, cut: Range<Int>, insert: Range<Int>) {
            self.item = item
            self.cut = cut
            self.insert = insert
        }
    }

    /// The request holding the items at `selected` (ascending positions in `items`), each one
    /// copied from `source` or, where `replacement` returns bytes, replaced by that serialized
    /// Span / LogRecord message.
    public func write(_ selected: some Collection<Int>, from source: UnsafeRawBufferPointer,
                      replacement: (Int) -> [UInt8]? = { _ in nil }) -> [UInt8] {
        let chosen = Array(selected)
        let replaced = chosen.map(replacement)
        var w = ProtoWire.Writer()
        var scratch = WriteScratch()
        chosen.withUnsafeBufferPointer { chosen in
            writeRequest(chosen, from: source, into: &w, scratch: &scratch, size: { k, index in
                replaced[k].map { ProtoWire.lengthDelimitedFieldSize(payloadSize: $0.count) } ?? items[index].whole.count
            }, item: { w, k, index in
                if let bytes = replaced[k] {
                    w.appendLengthDelimitedHeader(2, payloadSize: bytes.count)
                    w.bytes.append(contentsOf: bytes)
                } else {
                    w.appendRaw(source, items[index].whole)
                }
            })
        }
        return w.bytes
    }

    /// The request holding the items at `selected` (ascending), the ones named in `edits`
    /// (ascending by item, each a selected one) edited with bytes from `editBytes`.
    public func write(_ selected: [Int], from source: UnsafeRawBufferPointer, edits: [ItemEdit],
                      editBytes: UnsafeRawBufferPointer) -> [UInt8] {
        // The edit of each selected position, found by walking both ascending lists.
        var editOf = [Int](repeating: -1, count: selected.count)
        var e = 0
        for (k, index) in selected.enumerated() {
            while e < edits.count, edits[e].item < index { e += 1 }
            if e < edits.count, edits[e].item == index { editOf[k] = e }
        }
        func payloadSize(_ edit: ItemEdit) -> Int { items[edit.item].payload.count - edit.cut.count + edit.insert.count }
        var w = ProtoWire.Writer()
        var scratch = WriteScratch()
        selected.withUnsafeBufferPointer { selected in
            writeRequest(selected, from: source, into: &w, scratch: &scratch, size: { k, index in
                editOf[k] < 0 ? items[index].whole.count : ProtoWire.lengthDelimitedFieldSize(payloadSize: payloadSize(edits[editOf[k]]))
            }, item: { w, k, index in
                guard editOf[k] >= 0 else { return w.appendRaw(source, items[index].whole) }
                let edit = edits[editOf[k]]
                let payload = items[index].payload
                w.appendLengthDelimitedHeader(2, payloadSize: payloadSize(edit))
                w.appendRaw(source, payload.lowerBound..<edit.cut.lowerBound)
                w.appendRaw(editBytes, edit.insert)
                w.appendRaw(source, edit.cut.upperBound..<payload.upperBound)
            })
        }
        return w.bytes
    }

    /// One request per group of items, all in one buffer: group g holds the items at
    /// `members[bounds[g]]` (ascending positions in `items`), copied from `source`; `pieces[g]`
    /// is where its request is in `bytes`. (The tail sampler's per-trace requests.)
    /// `gap` bytes (zeros) go before each request: room for a frame header, so that the
    /// buffer can be framed in place (the tail sampler's hold log).
    public func writeGroups(_ members: [Int], bounds: [Range<Int>], from source: UnsafeRawBufferPointer, gap: Int = 0)
        -> (bytes: [UInt8], pieces: [Range<Int>]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(members.reduce(0) { $0 + items[$1].whole.count } + bounds.count * (64 + gap))
        let pieces = writeGroups(members, bounds: bounds, from: source, gap: gap, into: &bytes)
        return (bytes, pieces)
    }

    /// The same into `bytes`, emptied first and its capacity kept (a scratch buffer reused
    /// batch after batch); returns the pieces.
    public func writeGroups(_ members: [Int], bounds: [Range<Int>], from source: UnsafeRawBufferPointer, gap: Int,
                            into bytes: inout [UInt8]) -> [Range<Int>] {
        var entries: [WrittenEntry]? = nil
        return writeGroups(members, bounds: bounds, from: source, gap: gap, into: &bytes, entries: &entries)
    }

    /// A resource entry as `writeGroups` wrote it: which of `resources` it copies, where the
    /// whole entry field (key and length included) is in the output, and which positions of
    /// `members` it holds. With these a reader of the output knows its resource entries and
    /// items without parsing it again (the store indexes its blocks from them).
    public struct WrittenEntry: Sendable, Equatable {
        public var resource: Int
        public var whole: Range<Int>
        public var members: Range<Int>
    }

    /// `writeGroups(_:bounds:from:gap:into:)`, also appending to `entries` (when not nil)
    /// every resource entry written, in output order.
    public func writeGroups(_ members: [Int], bounds: [Range<Int>], from source: UnsafeRawBufferPointer, gap: Int,
                            into bytes: inout [UInt8], entries: inout [WrittenEntry]?) -> [Range<Int>] {
        bytes.removeAll(keepingCapacity: true)
        var w = ProtoWire.Writer(appendingTo: bytes)
        bytes = []  // the writer owns the storage now (no copy on write)
        var scratch = WriteScratch()
        swap(&scratch.written, &entries)
        var pieces: [Range<Int>] = []
        pieces.reserveCapacity(bounds.count)
        members.withUnsafeBufferPointer { members in
            for range in bounds {
                if gap > 0 { w.bytes.append(contentsOf: repeatElement(0, count: gap)) }
                let start = w.bytes.count
                writeRequest(UnsafeBufferPointer(rebasing: members[range]), from: source, into: &w, scratch: &scratch,
                             firstMember: range.lowerBound,
                             size: { _, index in items[index].whole.count },
                             item: { w, _, index in w.appendRaw(source, items[index].whole) })
                pieces.append(start..<w.bytes.count)
            }
        }
        swap(&scratch.written, &entries)
        bytes = w.bytes
        return pieces
    }

    /// Run bookkeeping reused across the requests of one `writeGroups`.
    private struct WriteScratch {
        /// Per scope run: its scope, body size, and the selected positions it holds.
        var scopeRuns: [(scope: Int, bodySize: Int, first: Int, end: Int)] = []
        /// Per resource run: its resource, body size, and its scope runs.
        var resourceRuns: [(resource: Int, bodySize: Int, first: Int, end: Int)] = []
        /// The resource entries written, when the caller wants them.
        var written: [WrittenEntry]? = nil
    }

    /// Appends the request of the `selected` items to `w`: `size(k, index)` is the k-th selected
    /// item's whole field size and `item` writes it.
    /// `firstMember`: the position of `selected[0]` among all the members being written (for
    /// `WriteScratch.written`).
    private func writeRequest(_ selected: UnsafeBufferPointer<Int>, from source: UnsafeRawBufferPointer,
                              into w: inout ProtoWire.Writer, scratch: inout WriteScratch, firstMember: Int = 0,
                              size: (Int, Int) -> Int, item writeItem: (inout ProtoWire.Writer, Int, Int) -> Void) {
        scratch.scopeRuns.removeAll(keepingCapacity: true)
        scratch.resourceRuns.removeAll(keepingCapacity: true)
        // Per scope and resource run the body sizes, in one pass.
        for (k, index) in selected.enumerated() {
            let scopeIndex = items[index].scope
            let resource = scopes[scopeIndex].resource
            if scratch.resourceRuns.last?.resource != resource {
                let header = resources[resource].header.reduce(0) { $0 + $1.count }
                scratch.resourceRuns.append((resource, header, scratch.scopeRuns.count, scratch.scopeRuns.count))
            }
            let r = scratch.resourceRuns.count - 1
            if scratch.resourceRuns[r].first == scratch.resourceRuns[r].end || scratch.scopeRuns[scratch.scopeRuns.count - 1].scope != scopeIndex {
                scratch.scopeRuns.append((scopeIndex, scopes[scopeIndex].header.reduce(0) { $0 + $1.count }, k, k))
                scratch.resourceRuns[r].end = scratch.scopeRuns.count
            }
            let s = scratch.scopeRuns.count - 1
            scratch.scopeRuns[s].bodySize += size(k, index)
            scratch.scopeRuns[s].end = k + 1
        }
        var total = 0
        for r in scratch.resourceRuns.indices {
            for s in scratch.resourceRuns[r].first..<scratch.resourceRuns[r].end {
                scratch.resourceRuns[r].bodySize += ProtoWire.lengthDelimitedFieldSize(payloadSize: scratch.scopeRuns[s].bodySize)
            }
            total += ProtoWire.lengthDelimitedFieldSize(payloadSize: scratch.resourceRuns[r].bodySize)
        }
        let start = w.bytes.count
        if w.bytes.capacity < start + total { w.bytes.reserveCapacity(max(start + total, 2 * w.bytes.capacity)) }
        for run in scratch.resourceRuns {
            let entryStart = w.bytes.count
            w.appendLengthDelimitedHeader(1, payloadSize: run.bodySize)
            for range in resources[run.resource].header { w.appendRaw(source, range) }
            for scopeRun in scratch.scopeRuns[run.first..<run.end] {
                w.appendLengthDelimitedHeader(2, payloadSize: scopeRun.bodySize)
                for range in scopes[scopeRun.scope].header { w.appendRaw(source, range) }
                for k in scopeRun.first..<scopeRun.end { writeItem(&w, k, selected[k]) }
            }
            if scratch.written != nil {
                let first = firstMember + scratch.scopeRuns[run.first].first
                let end = firstMember + scratch.scopeRuns[run.end - 1].end
                scratch.written!.append(WrittenEntry(resource: run.resource, whole: entryStart..<w.bytes.count, members: first..<end))
            }
        }
        assert(w.bytes.count - start == total)
    }
}
