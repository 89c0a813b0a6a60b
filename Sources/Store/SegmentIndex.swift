import OTLPCodec
import Synchronization

/// Read access to one segment's index, for queries. Implementations are thread-safe: every
/// method may be called from any thread, concurrently with appends to the same segment.
protocol SegmentIndex: Sendable {
    /// Bytes of the segment file covered by the index (the committed length).
    var dataLength: UInt64 { get }
    /// Earliest and latest item time in the segment; nil when it holds no item.
    var timeRange: (min: UInt64, max: UInt64)? { get }
    var blockCount: Int { get }
    var traceCount: Int { get }
    /// False when the segment surely holds nothing of `id`.
    func mightContain(_ id: OTLPTraceID) -> Bool
    /// The blocks holding spans or log records of `id`, in file order, with the trace's
    /// slice of each. Callers check `mightContain` first (the sealed index does not repeat
    /// the bloom filter check).
    func blocks(of id: OTLPTraceID) -> [BlockRef]
    /// The summary of the part of `id` stored in this segment (after `mightContain`, as above).
    func part(of id: OTLPTraceID) -> TracePart?
    func services() -> [String]
    func operations(service: String) -> [String]
    /// Traces having a span of `service` and `operation` (nil: any) in this segment.
    func candidates(service: String?, operation: String?) -> [SearchCandidate]
}

/// The index of the active segment (or of one waiting to be sealed, or rebuilt by scanning).
///
/// Design: the writer adds each block after its bytes are written (`commit`), under the
/// Mutex, and then publishes the new committed length in an atomic; readers take the Mutex
/// for each lookup (a search holds it for one pass over the segment's traces). So a reader
/// sees a block in the index only once the whole block is in the file.
final class MemorySegmentIndex: SegmentIndex {
    private let state: Mutex<MemoryIndex>
    private let committed: Atomic<UInt64>

    init(_ index: MemoryIndex) {
        committed = Atomic(index.dataLength)
        state = Mutex(index)
    }

    /// Adds a block whose bytes are completely written.
    func commit(_ block: BlockRecord, _ facts: BlockFacts) {
        state.withLock { $0.add(block, facts) }
        committed.store(block.offset + UInt64(block.storedLength), ordering: .releasing)
    }

    /// A copy of the whole index (for sealing).
    func snapshot() -> MemoryIndex {
        state.withLock { $0 }
    }

    var dataLength: UInt64 { committed.load(ordering: .acquiring) }

    var timeRange: (min: UInt64, max: UInt64)? {
        state.withLock { $0.minTime == .max ? nil : ($0.minTime, $0.maxTime) }
    }

    var blockCount: Int { state.withLock { $0.blocks.count } }
    var traceCount: Int { state.withLock { $0.traces.count } }

    func mightContain(_ id: OTLPTraceID) -> Bool {
        state.withLock { $0.traces[id] != nil }
    }

    func blocks(of id: OTLPTraceID) -> [BlockRef] {
        state.withLock { $0.blocks(of: id) }
    }

    /// In how many blocks of this segment `id` has items so far.
    func blockCount(of id: OTLPTraceID) -> Int {
        state.withLock { $0.traces[id]?.blocks.count ?? 0 }
    }

    func part(of id: OTLPTraceID) -> TracePart? {
        state.withLock { index in index.traces[id].map { index.part($0) } }
    }

    func services() -> [String] { state.withLock { $0.services() } }

    func operations(service: String) -> [String] { state.withLock { $0.operations(service: service) } }

    func candidates(service: String?, operation: String?) -> [SearchCandidate] {
        state.withLock { $0.candidates(service: service, operation: operation) }
    }
}
