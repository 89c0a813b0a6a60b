import OTLPCodec
import Synchronization

extension TraceStore {
    /// Stores `payload`, a serialized `ExportTraceServiceRequest` (`.spans`) or
    /// `ExportLogsServiceRequest` (`.logs`) holding `itemCount` spans / log records, as one
    /// block (several if larger than `blockMaxBytes`). When it returns, the block is in the
    /// segment file (fsynced with `sync: always`) and visible to queries.
    ///
    /// Throws a permanent error when the payload is not a well-formed request or does not hold
    /// `itemCount` items, a retryable one when writing fails (nothing is committed then; a
    /// retry may store some pieces of a split payload twice, which queries deduplicate), and
    /// `closed` after `close()`. A request without items stores nothing. Thread-safe; appends
    /// are serialized.
    public func append(kind: BlockKind, payload: [UInt8], itemCount: Int) throws(StoreError) {
        if payload.count > config.blockMaxBytes, itemCount > 1 {
            let perBlock = max(1, Int((Double(itemCount) * Double(config.blockMaxBytes) / Double(payload.count)).rounded(.down)))
            let pieces: [(bytes: [UInt8], count: Int)]
            do throws(OTLPDecodeError) {
                pieces = try OTLPSplitter.split(kind == .spans ? .traces : .logs, protobuf: payload, maxItems: perBlock)
            } catch {
                throw StoreError.invalidPayload(error.message)
            }
            let total = pieces.reduce(0) { $0 + $1.count }
            guard total == itemCount else {
                throw StoreError.invalidPayload("itemCount is \(itemCount) but the payload holds \(total) \(kind)")
            }
            for piece in pieces { try appendBlock(kind: kind, payload: piece.bytes, itemCount: piece.count) }
        } else {
            try appendBlock(kind: kind, payload: payload, itemCount: itemCount)
        }
    }

    private func appendBlock(kind: BlockKind, payload: [UInt8], itemCount: Int) throws(StoreError) {
        // Scanning needs no lock: it only reads the payload.
        let facts: BlockFacts
        do throws(OTLPDecodeError) {
            facts = try payload.withBytes { (raw) throws(OTLPDecodeError) in try BlockFacts(kind, raw) }
        } catch {
            throw StoreError.invalidPayload(error.message)
        }
        guard facts.itemCount == itemCount else {
            throw StoreError.invalidPayload("itemCount is \(itemCount) but the payload holds \(facts.itemCount) \(kind)")
        }
        guard itemCount > 0 else { return }
        let times = facts.timeRange
        let stored = try writer.withLock { (w) throws(StoreError) -> Int in
            guard !w.closed else { throw StoreError.closed }
            let block = try payload.withBytes { (raw) throws(StoreError) in
                try BlockCodec.encode(kind: kind, payload: raw, itemCount: itemCount, minTime: times.min,
                                      maxTime: times.max, compressor: w.compressor)
            }
            let empty = w.offset <= UInt64(StoreFormat.segmentHeaderSize)
            if !empty && w.offset + UInt64(block.bytes.count) > config.segmentMaxBytes {
                try rotate(&w)
            }
            let offset = w.offset
            do throws(StoreError) {
                try w.segment.file.write(block.bytes, at: offset)
                if config.sync == .always {
                    try w.segment.file.sync()
                    counters.fsyncs.add(1, ordering: .relaxed)
                }
            } catch {
                // Nothing is committed; the next block overwrites whatever was written.
                try? w.segment.file.truncate(to: offset)
                throw error
            }
            w.index.commit(
                BlockRecord(offset: offset, storedLength: UInt32(block.bytes.count), kind: kind,
                            itemCount: UInt32(itemCount), uncompressedLength: UInt32(payload.count),
                            minTime: times.min, maxTime: times.max, crc: block.header.crc),
                facts)
            w.offset = offset + UInt64(block.bytes.count)
            if config.sync != .always { w.dirty = true }
            return block.bytes.count
        }
        counters.appendedBlocks.add(1, ordering: .relaxed)
        counters.appendedItems.add(UInt64(itemCount), ordering: .relaxed)
        counters.payloadBytes.add(UInt64(payload.count), ordering: .relaxed)
        counters.storedBytes.add(UInt64(stored), ordering: .relaxed)
        let total = totalBytes.add(UInt64(stored), ordering: .relaxed).newValue
        if let max = config.retentionMaxBytes, total > max { scheduleRetention() }
    }

    /// Starts a new active segment and queues the current one for sealing, if it holds any
    /// block. Thread-safe.
    public func rotate() throws(StoreError) {
        try writer.withLock { (w) throws(StoreError) in
            guard !w.closed else { throw StoreError.closed }
            if w.offset > UInt64(StoreFormat.segmentHeaderSize) { try rotate(&w) }
        }
    }

    /// Makes every block appended so far durable (fsync of the active segment), whatever the
    /// `sync` setting. Thread-safe.
    public func flush() throws(StoreError) {
        let file = writer.withLock { w in
            w.dirty = false
            return w.segment.file
        }
        do throws(StoreError) {
            try file.sync()
            counters.fsyncs.add(1, ordering: .relaxed)
        } catch {
            writer.withLock { $0.dirty = true }
            throw error
        }
    }

    /// Called with the writer lock held: opens the next segment, publishes it in the catalog
    /// and queues the old one for sealing.
    func rotate(_ w: inout Writer) throws(StoreError) {
        let old = w.segment
        let next = try Recovery.createSegment(directory: directory, sequence: old.sequence + 1, created: clock())
        catalog.withLock { $0.append(next) }
        guard let index = next.index as? MemorySegmentIndex else { preconditionFailure("new segments are in memory") }
        w.segment = next
        w.index = index
        w.offset = next.index.dataLength
        w.dirty = false
        totalBytes.add(next.bytes, ordering: .relaxed)
        maintenance.async { self.seal(old) }
    }
}
