import CollectorCore
import OTLPCodec

/// Turns queued OTLP logs requests straight into Loki's protobuf `PushRequest`, without a
/// String per field: the same streams, labels, structured metadata, entry order and bytes as
/// `LokiStreamBuilder` + a plain protobuf writer (the reference; a test compares the two on random
/// requests), with a few allocations per push instead of several per record.
///
/// How: every record is visited in place (`OTLPLogRecords.visit`); its text pieces (line,
/// label values, metadata) are `Piece`s, byte ranges of one of the payloads or of `arena`, where
/// the text computed here goes (hex ids, severity names, rendered non-string values, sanitized
/// names, label sets). Records are grouped into streams by their label set's text afterwards, so
/// a payload that fails to decode half-way is rolled back whole, as the reference drops it.
struct LokiTranscoder: Sendable {
    let resourceLabels: [[UInt8]]
    let attributeLabels: [[UInt8]]
    private let resourceLabelNames: [[UInt8]]
    private let attributeLabelNames: [[UInt8]]

    init(resourceLabels: [String], attributeLabels: [String]) {
        self.resourceLabels = resourceLabels.map { Array($0.utf8) }
        self.attributeLabels = attributeLabels.map { Array($0.utf8) }
        resourceLabelNames = resourceLabels.map { Array(LokiStreamBuilder.sanitize($0).utf8) }
        attributeLabelNames = attributeLabels.map { Array(LokiStreamBuilder.sanitize($0).utf8) }
    }

    struct Output {
        /// The serialized `PushRequest` (not compressed); empty when there were no records.
        var body: [UInt8]
        var entries: Int
        /// Indexes of the payloads that could not be decoded (dropped, as a whole).
        var undecodable: [(index: Int, error: any Error)]
    }

    /// A byte range of payload `source`, or of the arena when `source` is -1.
    struct Piece: Equatable {
        var source: Int
        var start: Int
        var count: Int
    }

    private struct Entry {
        var time: UInt64
        var line: Piece
        var labels: Piece
        var metadata: Range<Int>
    }

    func encode(_ payloads: [[UInt8]], now: UInt64) -> Output {
        var work = Work(payloads: payloads)
        var undecodable: [(index: Int, error: any Error)] = []
        for index in payloads.indices {
            let mark = work.mark()
            do {
                try payloads[index].withUnsafeBytes { raw in
                    try OTLPLogRecords.visit(raw) { record in add(record, raw, source: index, now: now, into: &work) }
                }
            } catch {
                work.rollBack(to: mark)
                undecodable.append((index, error))
            }
        }
        return Output(body: work.entries.isEmpty ? [] : write(&work), entries: work.entries.count, undecodable: undecodable)
    }

    // MARK: - Records

    private func add(_ r: OTLPLogRecordView, _ raw: UnsafeRawBufferPointer, source: Int, now: UInt64, into w: inout Work) {
        func piece(_ v: OTLPLogRecordView.Value) -> Piece {
            switch v {
            case .absent: return Piece(source: -1, start: 0, count: 0)
            case .text(let range): return Piece(source: source, start: range.lowerBound, count: range.count)
            case .rendered(let s): return w.store(s)
            }
        }
        func matches(_ key: OTLPLogRecordView.Value, _ wanted: [UInt8]) -> Bool {
            switch key {
            case .absent: return wanted.isEmpty
            case .text(let range): return wanted.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: raw[range]).elementsEqual($0) }
            case .rendered(let s): return s.utf8.elementsEqual(wanted)
            }
        }

        // Labels: configured resource keys, then record keys, that the record has.
        w.labels.removeAll(keepingCapacity: true)
        w.usedResource.removeAll(keepingCapacity: true)
        w.usedAttributes.removeAll(keepingCapacity: true)
        for (i, key) in resourceLabels.enumerated() {
            if let a = r.resourceAttributes.first(where: { matches($0.key, key) }) {
                let value = piece(a.value)
                w.labels.append((resourceLabelNames[i], value))
                w.usedResource.append(i)
            }
        }
        for (i, key) in attributeLabels.enumerated() {
            if let a = r.attributes.first(where: { matches($0.key, key) }) {
                let value = piece(a.value)
                w.labels.append((attributeLabelNames[i], value))
                w.usedAttributes.append(i)
            }
        }
        let labels = w.labelText()

        // Structured metadata, in the reference's order.
        let metadataStart = w.metadata.count
        // (Pieces are made before each append: making one may grow the arena.)
        if !r.traceID.isEmpty {
            let pair = (w.name("trace_id"), w.hex(raw, r.traceID))
            w.metadata.append(pair)
        }
        if !r.spanID.isEmpty {
            let pair = (w.name("span_id"), w.hex(raw, r.spanID))
            w.metadata.append(pair)
        }
        let severityText = piece(r.severityText)
        if severityText.count > 0 {
            let pair = (w.name("severity"), severityText)
            w.metadata.append(pair)
        } else {
            let name = LokiStreamBuilder.severityName(r.severityNumber)
            if !name.isEmpty {
                let pair = (w.name("severity"), w.store(name))
                w.metadata.append(pair)
            }
        }
        for a in r.attributes where !w.usedAttributes.contains(where: { matches(a.key, attributeLabels[$0]) }) {
            let pair = (w.sanitized(a.key, raw, source: source), piece(a.value))
            w.metadata.append(pair)
        }
        for a in r.resourceAttributes where !w.usedResource.contains(where: { matches(a.key, resourceLabels[$0]) }) {
            let pair = (w.sanitized(a.key, raw, source: source), piece(a.value))
            w.metadata.append(pair)
        }
        let time = r.timeUnixNano != 0 ? r.timeUnixNano : r.observedTimeUnixNano != 0 ? r.observedTimeUnixNano : now
        w.entries.append(Entry(time: time, line: piece(r.body), labels: labels, metadata: metadataStart..<w.metadata.count))
    }

    // MARK: - Writing

    private func write(_ w: inout Work) -> [UInt8] {
        // Streams in order of first appearance; entries stably sorted by time within each.
        var streams: [(labels: Piece, entries: [Int])] = []
        var index: [[UInt8]: Int] = [:]
        var previous = -1
        for (i, e) in w.entries.enumerated() {
            if previous >= 0, w.equal(streams[previous].labels, e.labels) {
                streams[previous].entries.append(i)
                continue
            }
            let key = w.array(e.labels)
            if let s = index[key] {
                streams[s].entries.append(i)
                previous = s
            } else {
                index[key] = streams.count
                previous = streams.count
                streams.append((e.labels, [i]))
            }
        }
        for s in streams.indices {
            let times = streams[s].entries.map { w.entries[$0].time }
            if !zip(times, times.dropFirst()).allSatisfy({ $0 <= $1 }) {
                streams[s].entries = streams[s].entries.enumerated()
                    .sorted { (times[$0.offset], $0.offset) < (times[$1.offset], $1.offset) }
                    .map(\.element)
            }
        }

        func field(_ length: Int) -> Int { 1 + ProtoOut.varintSize(UInt64(length)) + length }
        func timestampSize(_ t: UInt64) -> Int {
            let (s, n) = (t / 1_000_000_000, t % 1_000_000_000)
            return (s != 0 ? 1 + ProtoOut.varintSize(s) : 0) + (n != 0 ? 1 + ProtoOut.varintSize(n) : 0)
        }
        func entrySize(_ e: Entry) -> Int {
            var size = field(timestampSize(e.time))
            if e.line.count > 0 { size += field(Int(e.line.count)) }
            for m in e.metadata {
                let (name, value) = w.metadata[m]
                size += field(field(Int(name.count)) + field(Int(value.count)))
            }
            return size
        }
        var entrySizes = [Int](repeating: 0, count: w.entries.count)
        var streamSizes: [Int] = []
        var total = 0
        for s in streams {
            var size = field(Int(s.labels.count))
            for i in s.entries {
                entrySizes[i] = entrySize(w.entries[i])
                size += field(entrySizes[i])
            }
            streamSizes.append(size)
            total += field(size)
        }
        var out = ProtoOut()
        out.bytes.reserveCapacity(total)
        for (k, s) in streams.enumerated() {
            out.key(1, 2)
            out.rawVarint(UInt64(streamSizes[k]))
            w.field(1, s.labels, into: &out)
            for i in s.entries {
                let e = w.entries[i]
                out.key(2, 2)
                out.rawVarint(UInt64(entrySizes[i]))
                out.key(1, 2)
                out.rawVarint(UInt64(timestampSize(e.time)))
                let (seconds, nanos) = (e.time / 1_000_000_000, e.time % 1_000_000_000)
                if seconds != 0 { out.varint(1, seconds) }
                if nanos != 0 { out.varint(2, nanos) }
                if e.line.count > 0 { w.field(2, e.line, into: &out) }
                for m in e.metadata {
                    let (name, value) = w.metadata[m]
                    out.key(3, 2)
                    out.rawVarint(UInt64(field(Int(name.count)) + field(Int(value.count))))
                    w.field(1, name, into: &out)
                    w.field(2, value, into: &out)
                }
            }
        }
        assert(out.bytes.count == total)
        return out.bytes
    }

    // MARK: - Working state of one push

    private struct Work {
        let payloads: [[UInt8]]
        var arena: [UInt8] = []
        var entries: [Entry] = []
        var metadata: [(Piece, Piece)] = []
        var labels: [([UInt8], Piece)] = []
        var usedResource: [Int] = []
        var usedAttributes: [Int] = []
        var names: [String: Piece] = [:]
        var lastLabels: Piece?
        /// Each distinct label set and sanitized key is stored once per push.
        var labelTexts: [[UInt8]: Piece] = [:]
        /// (raw key, its sanitized name): a push has a handful of distinct keys, so a list looked
        /// up by comparing bytes costs no allocation per record, unlike a dictionary key.
        var sanitizedKeys: [(key: [UInt8], name: Piece)] = []
        var scratch: [UInt8] = []

        init(payloads: [[UInt8]]) {
            self.payloads = payloads
            arena.reserveCapacity(4096)
        }

        struct Mark { var arena: Int; var entries: Int; var metadata: Int }
        func mark() -> Mark { Mark(arena: arena.count, entries: entries.count, metadata: metadata.count) }
        mutating func rollBack(to m: Mark) {
            arena.removeLast(arena.count - m.arena)
            entries.removeLast(entries.count - m.entries)
            metadata.removeLast(metadata.count - m.metadata)
            names = names.filter { $0.value.start < m.arena }
            labelTexts = labelTexts.filter { $0.value.start < m.arena }
            sanitizedKeys = sanitizedKeys.filter { $0.name.start < m.arena }
            if let l = lastLabels, l.start + l.count > m.arena { lastLabels = nil }
        }

        mutating func store<C: Collection>(_ bytes: C) -> Piece where C.Element == UInt8 {
            let start = arena.count
            arena.append(contentsOf: bytes)
            return Piece(source: -1, start: start, count: arena.count - start)
        }

        mutating func store(_ s: String) -> Piece { store(s.utf8) }

        /// A fixed name (trace_id, ...), stored once per push.
        mutating func name(_ s: String) -> Piece {
            if let p = names[s] { return p }
            let p = store(s)
            names[s] = p
            return p
        }

        mutating func hex(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) -> Piece {
            let digits: StaticString = "0123456789abcdef"
            let start = arena.count
            for b in UnsafeRawBufferPointer(rebasing: raw[range]) {
                arena.append(digits.utf8Start[Int(b >> 4)])
                arena.append(digits.utf8Start[Int(b & 15)])
            }
            return Piece(source: -1, start: start, count: arena.count - start)
        }

        /// The attribute key as a label name (`LokiStreamBuilder.sanitize`, one `_` per
        /// character outside `[a-zA-Z0-9_]`, `_` prefix before a digit, `_` for an empty key); a
        /// key that is already valid is used in place.
        mutating func sanitized(_ key: OTLPLogRecordView.Value, _ raw: UnsafeRawBufferPointer, source: Int) -> Piece {
            switch key {
            case .absent: return store("_")
            case .rendered(let s): return store(LokiStreamBuilder.sanitize(s))
            case .text(let range):
                let bytes = UnsafeRawBufferPointer(rebasing: raw[range])
                if let first = bytes.first, !Self.isDigit(first), bytes.allSatisfy(Self.isNameByte) {
                    return Piece(source: source, start: range.lowerBound, count: range.count)
                }
                if let known = sanitizedKeys.first(where: { $0.key.elementsEqual(bytes) }) { return known.name }
                let start = arena.count
                if let first = bytes.first, Self.isDigit(first) { arena.append(UInt8(ascii: "_")) }
                for b in bytes where b < 0x80 || b >= 0xC0 {   // one `_` per character, not per byte
                    arena.append(b < 0x80 && Self.isNameByte(b) ? b : UInt8(ascii: "_"))
                }
                if arena.count == start { arena.append(UInt8(ascii: "_")) }
                let piece = Piece(source: -1, start: start, count: arena.count - start)
                sanitizedKeys.append((Array(bytes), piece))
                return piece
            }
        }

        static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        static func isNameByte(_ b: UInt8) -> Bool {
            (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || isDigit(b) || b == 0x5F
        }

        /// The label set of `labels` (deduplicated by name, first wins; sorted by name) as
        /// Loki's text, `{a="x", b="y"}`, stored in the arena; the previous record's piece when
        /// it is the same text.
        mutating func labelText() -> Piece {
            if labels.isEmpty {
                let value = name("collectord")
                labels.append((Array("exporter".utf8), value))
            }
            var unique: [([UInt8], Piece)] = []
            for l in labels where !unique.contains(where: { $0.0 == l.0 }) { unique.append(l) }
            unique.sort { $0.0.lexicographicallyPrecedes($1.0) }
            scratch.removeAll(keepingCapacity: true)
            scratch.append(UInt8(ascii: "{"))
            for (i, (name, value)) in unique.enumerated() {
                if i > 0 { scratch.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
                scratch.append(contentsOf: name)
                scratch.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "\"")])
                withBytes(value) { LabelValue.appendEscaped($0, to: &scratch) }
                scratch.append(UInt8(ascii: "\""))
            }
            scratch.append(UInt8(ascii: "}"))
            if let last = lastLabels, withBytes(last, { $0.elementsEqual(scratch) }) { return last }
            if let known = labelTexts[scratch] {
                lastLabels = known
                return known
            }
            let piece = store(scratch)
            lastLabels = piece
            labelTexts[scratch] = piece
            return piece
        }

        func withBytes<R>(_ p: Piece, _ body: (UnsafeRawBufferPointer) -> R) -> R {
            let range = p.start..<(p.start + p.count)
            if p.source < 0 { return arena.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) } }
            return payloads[p.source].withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) }
        }

        func equal(_ a: Piece, _ b: Piece) -> Bool {
            a == b || (a.count == b.count && withBytes(a) { x in withBytes(b) { y in x.elementsEqual(y) } })
        }

        func array(_ p: Piece) -> [UInt8] { withBytes(p) { Array($0) } }

        func field(_ number: UInt64, _ p: Piece, into out: inout ProtoOut) {
            out.key(number, 2)
            out.rawVarint(UInt64(p.count))
            withBytes(p) { out.bytes.append(contentsOf: $0) }
        }
    }
}
