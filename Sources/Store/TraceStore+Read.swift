import OTLPCodec
import Synchronization

/// A trace as read back from the store.
public struct StoredTrace: Sendable, Hashable {
    /// A serialized `ExportTraceServiceRequest` holding exactly the trace's spans, each once,
    /// under their resource and scope (empty when no span is stored).
    public var spans: [UInt8]
    /// A serialized `ExportLogsServiceRequest` holding the log records with the trace's id.
    public var logs: [UInt8]
    public var spanCount: Int
    public var logCount: Int
}

/// Statistics for self-metrics and tests.
public struct StoreStatistics: Sendable, Hashable {
    /// Segments in the catalog (the active one included), and how many are sealed.
    public var segments = 0
    public var sealedSegments = 0
    /// Bytes on disk: committed segment data plus index files.
    public var bytes: UInt64 = 0
    public var blocks = 0
    /// Blocks, items, uncompressed payload bytes and stored bytes appended since open.
    public var appendedBlocks: UInt64 = 0
    public var appendedItems: UInt64 = 0
    public var payloadBytes: UInt64 = 0
    public var storedBytes: UInt64 = 0
    /// fsync / fdatasync calls made (appends with `sync: always`, the interval timer,
    /// `flush`, sealing, close).
    public var fsyncs: UInt64 = 0
    public var corruptBlocks: UInt64 = 0
    public var deletedSegments: UInt64 = 0
}

extension TraceStore {
    /// The spans and log records of trace `id` (16 bytes), as OTLP requests, merged across
    /// every block and segment and deduplicated; nil when nothing is stored for it (or `id` is
    /// not a valid trace id). Thread-safe; see the type's concurrency contract.
    public func trace(id: [UInt8], budget: ReadBudget = .unlimited) -> (spans: [UInt8], logs: [UInt8])? {
        guard let traceID = OTLPTraceID(bytes: id), let found = trace(traceID, budget: budget) else { return nil }
        return (found.spans, found.logs)
    }

    /// Same, with counts. Lookup per segment: bloom filter, binary search in the sorted ids
    /// (a dictionary for the active segment), then only the blocks named are read, checked
    /// and decompressed (through a small LRU of decompressed blocks). When `budget` stops the
    /// read, what was found so far is returned (`budget.stop` says why).
    public func trace(_ id: OTLPTraceID, budget: ReadBudget = .unlimited) -> StoredTrace? {
        var spans = OTLPTraceAssembler(.traces, traceID: id)
        var logs = OTLPTraceAssembler(.logs, traceID: id)
        reading: for segment in snapshot() where segment.index.mightContain(id) {
            for ref in segment.index.blocks(of: id) {
                guard budget.admit() else { break reading }
                let block = ref.block
                guard let payload = load(block, from: segment) else { continue }
                do throws(OTLPDecodeError) {
                    // Only the trace's slice of the block is walked (the whole payload when the
                    // index has no slice or the slice does not fit it).
                    try payload.withBytes { (all) throws(OTLPDecodeError) in
                        var part = all
                        if let slice = ref.slice, slice.upperBound <= all.count { part = UnsafeRawBufferPointer(rebasing: all[slice]) }
                        if block.kind == .spans { try spans.add(part) } else { try logs.add(part) }
                    }
                } catch {
                    reportCorrupt(segment, block.offset, error.message)
                }
            }
        }
        guard spans.itemCount > 0 || logs.itemCount > 0 else { return nil }
        return StoredTrace(spans: spans.serialized(), logs: logs.serialized(),
                           spanCount: spans.itemCount, logCount: logs.itemCount)
    }

    /// Service names with spans in the store, sorted.
    public func services() -> [String] {
        var all: Set<String> = []
        for segment in snapshot() { all.formUnion(segment.index.services()) }
        return all.sorted()
    }

    /// Span names of `service`, sorted.
    public func operations(service: String) -> [String] {
        var all: Set<String> = []
        for segment in snapshot() { all.formUnion(segment.index.operations(service: service)) }
        return all.sorted()
    }

    public func statistics() -> StoreStatistics {
        var s = StoreStatistics()
        for segment in snapshot() {
            s.segments += 1
            if segment.sealed { s.sealedSegments += 1 }
            s.bytes += segment.bytes
            s.blocks += segment.index.blockCount
        }
        s.appendedBlocks = counters.appendedBlocks.load(ordering: .relaxed)
        s.appendedItems = counters.appendedItems.load(ordering: .relaxed)
        s.payloadBytes = counters.payloadBytes.load(ordering: .relaxed)
        s.storedBytes = counters.storedBytes.load(ordering: .relaxed)
        s.fsyncs = counters.fsyncs.load(ordering: .relaxed)
        s.corruptBlocks = counters.corruptBlocks.load(ordering: .relaxed)
        s.deletedSegments = counters.deletedSegments.load(ordering: .relaxed)
        return s
    }

    /// The decompressed payload of `block`, checked against its CRC and index entry; nil (and
    /// reported once) when it is unreadable.
    func load(_ block: BlockRecord, from segment: Segment) -> [UInt8]? {
        let key = BlockCache.Key(sequence: segment.sequence, offset: block.offset)
        if let hit = cache.get(key) { return hit }
        do throws(BlockProblem) {
            let bytes: [UInt8]
            do throws(StoreError) {
                bytes = try segment.file.read(at: block.offset, count: Int(block.storedLength))
            } catch {
                throw BlockProblem(error.description)
            }
            let (header, payload) = try bytes.withBytes { (raw) throws(BlockProblem) in try BlockCodec.decode(raw) }
            guard header.crc == block.crc, header.kind == block.kind, header.storedLength == Int(block.storedLength) else {
                throw BlockProblem("block does not match its index entry")
            }
            cache.put(key, payload)
            return payload
        } catch {
            reportCorrupt(segment, block.offset, error.reason)
            return nil
        }
    }

    /// Reports a bad block once per (segment, offset).
    func reportCorrupt(_ segment: Segment, _ offset: UInt64, _ reason: String) {
        let key = BlockCache.Key(sequence: segment.sequence, offset: offset)
        guard reportedBlocks.withLock({ $0.insert(key).inserted }) else { return }
        counters.corruptBlocks.add(1, ordering: .relaxed)
        emit(.corruptBlock(file: segment.path, offset: offset, reason: reason))
    }
}
