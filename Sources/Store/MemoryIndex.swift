import OTLPCodec

/// The index of a segment while it lives in memory: the active segment (built block by block
/// as appends commit), a segment waiting to be sealed, or a segment rebuilt by scanning.
/// Sealing serializes it into an index file (`IndexFile.encode`).
///
/// A plain value; `MemorySegmentIndex` owns one behind a Mutex for concurrent readers.
struct MemoryIndex: Sendable {
    /// Bytes of the segment file covered: the end of the last committed block.
    var dataLength: UInt64
    var blocks: [BlockRecord] = []
    var strings: [String] = []
    private var stringIDs: [String: UInt32] = [:]
    var pairs: [PairStats] = []
    private var pairIDs: [UInt64: UInt32] = [:]
    var traces: [OTLPTraceID: TraceRecord] = [:]
    var minTime: UInt64 = .max
    var maxTime: UInt64 = 0

    init(dataLength: UInt64) {
        self.dataLength = dataLength
    }

    /// Adds a committed block and what it holds (blocks come in file order; a skipped corrupt
    /// range may lie between `dataLength` and `block.offset`).
    mutating func add(_ block: BlockRecord, _ facts: BlockFacts) {
        let number = UInt32(blocks.count)
        blocks.append(block)
        dataLength = block.offset + UInt64(block.storedLength)
        if block.itemCount > 0 {
            minTime = min(minTime, block.minTime)
            maxTime = max(maxTime, block.maxTime)
        }
        switch facts {
        case .spans(let scan): addSpans(scan, block: number)
        case .logs(let scan): addLogs(scan, block: number)
        }
    }

    /// Spans are taken in runs of one trace (a hot block holds each trace's spans together;
    /// elsewhere a run is often one span): the trace's record is looked up once per run.
    private mutating func addSpans(_ scan: OTLPSpanScan, block: UInt32) {
        let services = scan.services.map { intern($0) }
        var runPairs: [(pair: UInt32, operation: UInt32)] = []
        var lastName = ""
        var lastOperation = StoreFormat.noString
        scan.spans.withUnsafeBufferPointer { spans in
            var first = 0
            while first < spans.count {
                let id = spans[first].traceID
                var end = first + 1
                while end < spans.count, spans[end].traceID == id { end += 1 }
                runPairs.removeAll(keepingCapacity: true)
                for span in spans[first..<end] {
                    // Consecutive spans often share a name: intern it once for them.
                    if span.name != lastName || lastOperation == StoreFormat.noString {
                        lastName = span.name
                        lastOperation = intern(span.name)
                    }
                    let pair = Int(pairID(services[span.resource], lastOperation))
                    pairs[pair].minTime = min(pairs[pair].minTime, span.startTimeUnixNano)
                    pairs[pair].maxTime = max(pairs[pair].maxTime, span.endTimeUnixNano)
                    pairs[pair].spanCount += 1
                    if span.isError { pairs[pair].errorCount += 1 }
                    runPairs.append((UInt32(pair), lastOperation))
                }
                if let id {
                    // A run's entries come in ascending order: its slice is from the first to the last.
                    let entry = scan.entries[spans[first].resource].lowerBound..<scan.entries[spans[end - 1].resource].upperBound
                    update(id, block: block, entry: entry) { trace in
                        for (k, span) in spans[first..<end].enumerated() {
                            trace.add(span, pair: runPairs[k].pair, service: services[span.resource], operation: runPairs[k].operation)
                        }
                    }
                }
                first = end
            }
        }
    }

    private mutating func addLogs(_ scan: OTLPLogScan, block: UInt32) {
        for record in scan.records {
            guard let id = record.traceID else { continue }
            update(id, block: block, entry: scan.entries[record.resource]) { $0.logCount += 1 }
        }
    }

    /// `entry`: the whole resource entry holding the item, in the block's payload; a trace's
    /// slice of a block spans its entries there (exactly them when the writer grouped the
    /// block by trace, more when other traces' entries lie between).
    private mutating func update(_ id: OTLPTraceID, block: UInt32, entry: Range<Int>, _ body: (inout TraceRecord) -> Void) {
        func apply(_ record: inout TraceRecord) {
            body(&record)
            // Blocks are added in ascending order, so checking the last one keeps them unique.
            if record.blocks.last != block {
                record.blocks.append(block)
                record.slices.append(SliceRef(entry))
            } else {
                record.slices[record.slices.count - 1].widen(to: entry)
            }
        }
        apply(&traces[id, default: TraceRecord()])
    }

    mutating func intern(_ string: String) -> UInt32 {
        if let known = stringIDs[string] { return known }
        let id = UInt32(strings.count)
        strings.append(string)
        stringIDs[string] = id
        return id
    }

    private mutating func pairID(_ service: UInt32, _ operation: UInt32) -> UInt32 {
        let key = UInt64(service) << 32 | UInt64(operation)
        if let known = pairIDs[key] { return known }
        let id = UInt32(pairs.count)
        pairs.append(PairStats(service: service, operation: operation))
        pairIDs[key] = id
        return id
    }

    // MARK: Queries

    func blocks(of id: OTLPTraceID) -> [BlockRef] {
        guard let record = traces[id] else { return [] }
        return zip(record.blocks, record.slices).map { BlockRef(block: blocks[Int($0)], slice: $1.range) }
    }

    func part(_ record: TraceRecord) -> TracePart {
        TracePart(
            start: record.start, end: record.end,
            rootService: record.rootService == StoreFormat.noString ? nil : strings[Int(record.rootService)],
            rootOperation: record.rootOperation == StoreFormat.noString ? nil : strings[Int(record.rootOperation)],
            rootStart: record.rootStart, rootParentless: record.rootParentless,
            spanCount: Int(record.spanCount), errorCount: Int(record.errorCount), logCount: Int(record.logCount))
    }

    func services() -> [String] {
        Array(Set(pairs.map { strings[Int($0.service)] }))
    }

    func operations(service: String) -> [String] {
        guard let s = stringIDs[service] else { return [] }
        return Array(Set(pairs.filter { $0.service == s }.map { strings[Int($0.operation)] }))
    }

    /// Which pairs match `service` and `operation` (nil: any), by pair number; nil when any
    /// pair matches (no condition).
    func matchingPairs(service: String?, operation: String?) -> [Bool]? {
        if service == nil && operation == nil { return nil }
        let s = service.map { stringIDs[$0] ?? StoreFormat.noString }
        let o = operation.map { stringIDs[$0] ?? StoreFormat.noString }
        return pairs.map { pair in (s == nil || pair.service == s) && (o == nil || pair.operation == o) }
    }

    /// Traces with a span of `service` / `operation` (nil: any).
    func candidates(service: String?, operation: String?) -> [SearchCandidate] {
        let wanted = matchingPairs(service: service, operation: operation)
        if let wanted, !wanted.contains(true) { return [] }
        var out: [SearchCandidate] = []
        for (id, record) in traces where record.spanCount > 0 {
            if let wanted, !record.pairs.contains(where: { wanted[Int($0)] }) { continue }
            out.append(SearchCandidate(id: id, start: record.start, end: record.end))
        }
        return out
    }
}

extension TraceRecord {
    /// Counts `span` (its pair, service and operation numbered) in the trace.
    fileprivate mutating func add(_ span: OTLPSpanFacts, pair: UInt32, service: UInt32, operation: UInt32) {
        if !pairs.contains(pair) { pairs.append(pair) }
        start = min(start, span.startTimeUnixNano)
        end = max(end, span.endTimeUnixNano)
        let parentless = span.parentSpanID == 0
        if spanCount == 0 || isBetterRoot(parentless: parentless, start: span.startTimeUnixNano) {
            rootService = service
            rootOperation = operation
            rootStart = span.startTimeUnixNano
            rootParentless = parentless
        }
        spanCount += 1
        if span.isError { errorCount += 1 }
    }
}

/// What `append` found in a payload: the scan of its spans or log records.
enum BlockFacts: Sendable {
    case spans(OTLPSpanScan)
    case logs(OTLPLogScan)

    /// `expected`: the item count the caller was told (room reserved for that many).
    init(_ kind: BlockKind, _ payload: UnsafeRawBufferPointer, expected: Int = 0) throws(OTLPDecodeError) {
        switch kind {
        case .spans: self = .spans(try OTLPScanner.spans(payload, expected: expected))
        case .logs: self = .logs(try OTLPScanner.logs(payload, expected: expected))
        }
    }

    /// The facts of a request written from this payload's items (`OTLPRequestLayout.writeGroups`):
    /// the items at `members`, in the resource entries `entries` reports. The same as scanning
    /// the written request, without reading it again.
    func written(_ members: [Int], _ entries: [OTLPRequestLayout.WrittenEntry]) -> BlockFacts {
        switch self {
        case .spans(let scan):
            var out = OTLPSpanScan(services: [], spans: [])
            Self.fill(&out.services, &out.entries, &out.spans, from: scan.services, scan.spans, members, entries) { $0.resource = $1 }
            return .spans(out)
        case .logs(let scan):
            var out = OTLPLogScan(services: [], records: [])
            Self.fill(&out.services, &out.entries, &out.records, from: scan.services, scan.records, members, entries) { $0.resource = $1 }
            return .logs(out)
        }
    }

    private static func fill<Item>(_ services: inout [String], _ ranges: inout [Range<Int>], _ items: inout [Item],
                                   from sourceServices: [String], _ sourceItems: [Item], _ members: [Int],
                                   _ entries: [OTLPRequestLayout.WrittenEntry], setResource: (inout Item, Int) -> Void) {
        services.reserveCapacity(entries.count)
        ranges.reserveCapacity(entries.count)
        items.reserveCapacity(members.count)
        for (number, entry) in entries.enumerated() {
            services.append(sourceServices[entry.resource])
            ranges.append(entry.whole)
            for k in entry.members {
                var item = sourceItems[members[k]]
                setResource(&item, number)
                items.append(item)
            }
        }
    }

    var itemCount: Int {
        switch self {
        case .spans(let scan): scan.spans.count
        case .logs(let scan): scan.records.count
        }
    }

    /// Each item's trace id, in wire order.
    var traceIDs: [OTLPTraceID?] {
        switch self {
        case .spans(let scan): scan.spans.map(\.traceID)
        case .logs(let scan): scan.records.map(\.traceID)
        }
    }

    /// (min, max) unix ns over the items (span start / end, log record time); (0, 0) if empty.
    var timeRange: (min: UInt64, max: UInt64) {
        var lo = UInt64.max
        var hi: UInt64 = 0
        switch self {
        case .spans(let scan):
            for s in scan.spans {
                lo = min(lo, s.startTimeUnixNano)
                hi = max(hi, s.endTimeUnixNano, s.startTimeUnixNano)
            }
        case .logs(let scan):
            for r in scan.records {
                lo = min(lo, r.timeUnixNano)
                hi = max(hi, r.timeUnixNano)
            }
        }
        return lo == .max ? (0, 0) : (lo, hi)
    }
}
