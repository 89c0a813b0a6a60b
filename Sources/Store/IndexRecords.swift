import OTLPCodec

/// One block as an index knows it (section 1 of the index file).
struct BlockRecord: Hashable, Sendable {
    var offset: UInt64
    var storedLength: UInt32
    var kind: BlockKind
    var itemCount: UInt32
    var uncompressedLength: UInt32
    var minTime: UInt64
    var maxTime: UInt64
    var crc: UInt32
}

/// A block that holds items of a trace, and where in its (uncompressed) payload they are:
/// `slice` is a run of whole resource entries, itself a request, holding every item of the
/// trace in the block (nil: anywhere in the payload, for indexes written before slices).
struct BlockRef: Hashable, Sendable {
    var block: BlockRecord
    var slice: Range<Int>?
}

/// A trace's slice of one block, as the indexes keep it (section 9 of the index file: u32
/// offset, u32 length per ref).
struct SliceRef: Hashable, Sendable {
    var offset: UInt32
    var length: UInt32

    init(offset: UInt32, length: UInt32) {
        self.offset = offset
        self.length = length
    }

    init(_ range: Range<Int>) {
        offset = UInt32(clamping: range.lowerBound)
        length = UInt32(clamping: range.count)
    }

    var range: Range<Int> { Int(offset)..<(Int(offset) + Int(length)) }

    /// Grows to cover `other` too.
    mutating func widen(to other: Range<Int>) {
        let lower = min(Int(offset), other.lowerBound)
        let upper = max(Int(offset) + Int(length), other.upperBound)
        self = SliceRef(lower..<upper)
    }
}

/// Statistics of one (service, operation) pair in a segment (section 3).
struct PairStats: Hashable, Sendable {
    var service: UInt32
    var operation: UInt32
    var minTime: UInt64 = .max
    var maxTime: UInt64 = 0
    var spanCount: UInt64 = 0
    var errorCount: UInt64 = 0
}

/// What one segment knows about one trace, with segment-local string and pair numbers
/// (sections 4 to 7).
struct TraceRecord: Sendable {
    /// Block numbers holding items of the trace, ascending.
    var blocks: [UInt32] = []
    /// Per block (same order), where the trace's resource entries are in its payload.
    var slices: [SliceRef] = []
    /// Pair numbers of the trace's spans, each once.
    var pairs: [UInt32] = []
    var start: UInt64 = .max
    var end: UInt64 = 0
    var rootService = StoreFormat.noString
    var rootOperation = StoreFormat.noString
    var rootStart: UInt64 = .max
    var rootParentless = false
    var spanCount: UInt32 = 0
    var errorCount: UInt32 = 0
    var logCount: UInt32 = 0

    /// Whether a span (`parentless`, starting at `start`) is a better root than the current
    /// one: a span without parent beats one with a parent, then the earlier start wins.
    func isBetterRoot(parentless: Bool, start: UInt64) -> Bool {
        if parentless != rootParentless { return parentless }
        return start < rootStart
    }
}

/// The part of a trace stored in one segment, with names resolved so that parts from several
/// segments merge into the whole trace's summary.
struct TracePart: Sendable, Hashable {
    var start: UInt64
    var end: UInt64
    var rootService: String?
    var rootOperation: String?
    var rootStart: UInt64
    var rootParentless: Bool
    var spanCount: Int
    var errorCount: Int
    var logCount: Int

    mutating func merge(_ other: TracePart) {
        if other.spanCount > 0 {
            if spanCount == 0 || other.isBetterRoot(than: self) {
                rootService = other.rootService
                rootOperation = other.rootOperation
                rootStart = other.rootStart
                rootParentless = other.rootParentless
            }
            start = min(start, other.start)
            end = max(end, other.end)
        }
        spanCount += other.spanCount
        errorCount += other.errorCount
        logCount += other.logCount
    }

    private func isBetterRoot(than other: TracePart) -> Bool {
        if rootParentless != other.rootParentless { return rootParentless }
        return rootStart < other.rootStart
    }

    /// The summary of the (merged) trace.
    func summary(_ id: OTLPTraceID) -> TraceSummary {
        TraceSummary(
            traceID: id, rootService: rootService ?? "", rootOperation: rootOperation ?? "",
            startTimeUnixNano: spanCount > 0 ? start : 0,
            durationNanos: spanCount > 0 && end > start ? end - start : 0,
            spanCount: spanCount, errorCount: errorCount, logCount: logCount)
    }
}

/// One trace found by ``TraceStore/search(service:operation:tags:minDuration:maxDuration:start:end:limit:)``.
public struct TraceSummary: Sendable, Hashable, CustomStringConvertible {
    public var traceID: OTLPTraceID
    /// Service and span name of the root span: the span without parent (the earliest if
    /// several), else the earliest span. Empty when the trace has no span stored.
    public var rootService: String
    public var rootOperation: String
    /// Earliest span start, unix ns.
    public var startTimeUnixNano: UInt64
    /// Latest span end minus earliest span start.
    public var durationNanos: UInt64
    /// Spans as stored; a span delivered twice and stored in two segments counts twice here
    /// (``TraceStore/trace(id:)`` deduplicates).
    public var spanCount: Int
    /// Spans with status ERROR.
    public var errorCount: Int
    /// Log records carrying the trace id.
    public var logCount: Int

    public init(traceID: OTLPTraceID, rootService: String, rootOperation: String, startTimeUnixNano: UInt64,
                durationNanos: UInt64, spanCount: Int, errorCount: Int, logCount: Int) {
        self.traceID = traceID
        self.rootService = rootService
        self.rootOperation = rootOperation
        self.startTimeUnixNano = startTimeUnixNano
        self.durationNanos = durationNanos
        self.spanCount = spanCount
        self.errorCount = errorCount
        self.logCount = logCount
    }

    public var description: String {
        "\(traceID.hex) \(rootService) \(rootOperation) start=\(startTimeUnixNano) duration=\(durationNanos) spans=\(spanCount) errors=\(errorCount) logs=\(logCount)"
    }
}
