/// Splits a serialized export request into requests of at most `maxItems` spans / log records
/// / metric data points (the batch processor's `send_batch_max_size`), working on the wire
/// format: only the request, resource and scope levels are parsed; spans, log records, metrics
/// and the other fields of those levels are copied as raw bytes.
///
/// Metrics are cut between metrics, never inside one: a metric weighs its data points, and one
/// with more than `maxItems` points travels alone in a piece of its own (the OTel Collector
/// would cut its points apart).
///
/// Each piece keeps the items' order. Every resource or scope entry a piece draws items from is
/// repeated in that piece with all its other fields (`resource`, `scope`, `schema_url`, and
/// unknown fields), written before its items. Entries without items go into the piece being
/// filled when they are reached, so nothing is lost. Unknown fields of the request message
/// itself (there are none in OTLP) are dropped.
///
/// The reverse, merging, needs no code: concatenated serialized requests are one valid request.
public enum OTLPSplitter {
    /// Splits `protobuf` (a serialized request of `signal`) into pieces of at most `maxItems`
    /// items. `maxItems <= 0` means no limit. When the request already fits, the one piece is
    /// the input bytes unchanged. Throws `.malformedProtobuf` when the framing of the request,
    /// resource or scope levels is invalid (items are not looked into; validate first with
    /// `OTLPValidator` when the input is untrusted).
    public static func split(
        _ signal: OTLPSignal, protobuf: [UInt8], maxItems: Int
    ) throws(OTLPDecodeError) -> [(bytes: [UInt8], count: Int)] {
        try splitTracingResources(signal, protobuf: protobuf, maxItems: maxItems).map { ($0.bytes, $0.count) }
    }

    /// `split`, also giving for each piece the indexes (in the input, in order) of the
    /// resource entries it holds; an entry cut in two appears in both pieces.
    public static func splitTracingResources(
        _ signal: OTLPSignal, protobuf: [UInt8], maxItems: Int
    ) throws(OTLPDecodeError) -> [(bytes: [UInt8], count: Int, resources: [Int])] {
        try protobuf.withBytes { (raw) throws(OTLPDecodeError) in
            let layout: RequestLayout
            do throws(ProtoWire.WireError) {
                layout = try RequestLayout(raw, weighMetrics: signal == .metrics)
            } catch {
                throw OTLPDecodeError.malformed(signal, error.detail)
            }
            if maxItems <= 0 || layout.itemCount <= maxItems {
                return [(protobuf, layout.itemCount, Array(layout.resources.indices))]
            }
            return layout.pieces(maxItems: maxItems).map { piece in
                (layout.write(piece, from: raw), piece.count, piece.resources.map(\.resource))
            }
        }
    }
}

/// Where the parts of a request are: byte ranges into the serialized request.
private struct RequestLayout {
    struct Scope {
        /// Whole fields (key included) other than the items, in order.
        var header: [Range<Int>] = []
        /// Whole item fields (key 2 included), in order.
        var items: [Range<Int>] = []
        /// Metrics only: each item's data points.
        var weights: [Int] = []
    }

    struct Resource {
        var header: [Range<Int>] = []
        var scopes: [Scope] = []
    }

    var resources: [Resource] = []
    var itemCount = 0
    let weighed: Bool

    /// Field numbers shared by both signals: request.resource_* = 1,
    /// resource.scope_* = 2, scope.spans / log_records = 2.
    static let resourceField: UInt32 = 1
    static let scopeField: UInt32 = 2
    static let itemField: UInt32 = 2

    init(_ bytes: UnsafeRawBufferPointer, weighMetrics: Bool) throws(ProtoWire.WireError) {
        weighed = weighMetrics
        var request = ProtoWire.Reader(bytes, range: 0..<bytes.count)
        while let field = try request.next() {
            guard field.number == Self.resourceField else { continue }
            try Self.expectMessage(field)
            var resource = Resource()
            var reader = ProtoWire.Reader(bytes, range: field.payload)
            while let inner = try reader.next() {
                guard inner.number == Self.scopeField else {
                    resource.header.append(inner.whole)
                    continue
                }
                try Self.expectMessage(inner)
                var scope = Scope()
                var scopeReader = ProtoWire.Reader(bytes, range: inner.payload)
                while let item = try scopeReader.next() {
                    if item.number == Self.itemField {
                        try Self.expectMessage(item)
                        scope.items.append(item.whole)
                        if weighMetrics { scope.weights.append(try Self.dataPoints(bytes, item.payload)) }
                    } else {
                        scope.header.append(item.whole)
                    }
                }
                itemCount += weighMetrics ? scope.weights.reduce(0, +) : scope.items.count
                resource.scopes.append(scope)
            }
            resources.append(resource)
        }
    }

    /// The data points of a serialized `Metric`: the `data_points` (1) of its gauge (5), sum
    /// (7), histogram (9), exponential_histogram (10) or summary (11).
    private static func dataPoints(_ bytes: UnsafeRawBufferPointer, _ metric: Range<Int>) throws(ProtoWire.WireError) -> Int {
        var count = 0
        var reader = ProtoWire.Reader(bytes, range: metric)
        while let field = try reader.next() {
            guard [5, 7, 9, 10, 11].contains(field.number), field.wireType == .lengthDelimited else { continue }
            var data = ProtoWire.Reader(bytes, range: field.payload)
            while let point = try data.next() { if point.number == 1 { count += 1 } }
        }
        return count
    }

    private static func expectMessage(_ field: ProtoWire.Field) throws(ProtoWire.WireError) {
        guard field.wireType == .lengthDelimited else {
            throw ProtoWire.WireError("field \(field.number) is not length-delimited", offset: field.start)
        }
    }

    // MARK: Pieces

    /// One output request: per resource, per scope, a run of consecutive items.
    struct Piece {
        struct ScopeRun {
            var scope: Int
            var items: Range<Int>
        }

        struct ResourceRun {
            var resource: Int
            var scopes: [ScopeRun] = []
        }

        var resources: [ResourceRun] = []
        var count = 0

        /// Makes resource `r` (and scope `s` of it, starting at `item`) the last run, adding
        /// what is not there yet.
        mutating func enter(_ r: Int, _ s: Int?, at item: Int) {
            if resources.last?.resource != r {
                resources.append(ResourceRun(resource: r))
            }
            guard let s else { return }
            let last = resources.count - 1
            if resources[last].scopes.last?.scope != s {
                resources[last].scopes.append(ScopeRun(scope: s, items: item..<item))
            }
        }
    }

    /// Cuts the items into pieces of at most `maxItems`, in order. A piece is closed only
    /// when an item does not fit, so entries without items join the piece being filled, and
    /// an entry is added to a piece only when something of it goes there.
    func pieces(maxItems: Int) -> [Piece] {
        if weighed { return weighedPieces(maxItems: maxItems) }
        var out: [Piece] = []
        var current = Piece()
        for (r, resource) in resources.enumerated() {
            if resource.scopes.isEmpty { current.enter(r, nil, at: 0) }
            for (s, scope) in resource.scopes.enumerated() {
                if scope.items.isEmpty { current.enter(r, s, at: 0) }
                var i = 0
                while i < scope.items.count {
                    if current.count == maxItems {
                        out.append(current)
                        current = Piece()
                    }
                    current.enter(r, s, at: i)
                    let take = min(maxItems - current.count, scope.items.count - i)
                    let last = current.resources.count - 1
                    let run = current.resources[last].scopes.count - 1
                    let first = current.resources[last].scopes[run].items.lowerBound
                    current.resources[last].scopes[run].items = first..<(i + take)
                    current.count += take
                    i += take
                }
            }
        }
        out.append(current)
        return out
    }

    /// `pieces` for metrics: whole metrics, a piece closed when the next metric's points do
    /// not fit (a metric heavier than `maxItems` fills a piece alone).
    private func weighedPieces(maxItems: Int) -> [Piece] {
        var out: [Piece] = []
        var current = Piece()
        for (r, resource) in resources.enumerated() {
            if resource.scopes.isEmpty { current.enter(r, nil, at: 0) }
            for (s, scope) in resource.scopes.enumerated() {
                if scope.items.isEmpty { current.enter(r, s, at: 0) }
                for (i, weight) in scope.weights.enumerated() {
                    if current.count > 0 && current.count + weight > maxItems {
                        out.append(current)
                        current = Piece()
                    }
                    current.enter(r, s, at: i)
                    let last = current.resources.count - 1
                    let run = current.resources[last].scopes.count - 1
                    let first = current.resources[last].scopes[run].items.lowerBound
                    current.resources[last].scopes[run].items = first..<(i + 1)
                    current.count += weight
                }
            }
        }
        out.append(current)
        return out
    }

    // MARK: Writing

    private func size(_ ranges: [Range<Int>]) -> Int {
        ranges.reduce(0) { $0 + $1.count }
    }

    private func scopeBodySize(_ run: Piece.ScopeRun, in resource: Resource) -> Int {
        let scope = resource.scopes[run.scope]
        return size(scope.header) + scope.items[run.items].reduce(0) { $0 + $1.count }
    }

    private func resourceBodySize(_ run: Piece.ResourceRun) -> Int {
        let resource = resources[run.resource]
        return size(resource.header) + run.scopes.reduce(0) {
            $0 + ProtoWire.lengthDelimitedFieldSize(payloadSize: scopeBodySize($1, in: resource))
        }
    }

    /// Serializes `piece`, copying its parts from `source`.
    func write(_ piece: Piece, from source: UnsafeRawBufferPointer) -> [UInt8] {
        let bodies = piece.resources.map(resourceBodySize)
        let total = bodies.reduce(0) { $0 + ProtoWire.lengthDelimitedFieldSize(payloadSize: $1) }
        var w = ProtoWire.Writer(capacity: total)
        for (run, body) in zip(piece.resources, bodies) {
            let resource = resources[run.resource]
            w.appendLengthDelimitedHeader(Self.resourceField, payloadSize: body)
            for range in resource.header { w.appendRaw(source, range) }
            for scopeRun in run.scopes {
                let scope = resource.scopes[scopeRun.scope]
                w.appendLengthDelimitedHeader(Self.scopeField, payloadSize: scopeBodySize(scopeRun, in: resource))
                for range in scope.header { w.appendRaw(source, range) }
                for range in scope.items[scopeRun.items] { w.appendRaw(source, range) }
            }
        }
        assert(w.bytes.count == total)
        return w.bytes
    }
}
