import OTLPCodec
import Synchronization

extension TraceStore {
    /// Stores `payload`, a serialized `ExportTraceServiceRequest` (`.spans`) or
    /// `ExportLogsServiceRequest` (`.logs`) holding `itemCount` spans / log records, as one
    /// block (several if larger than `blockMaxBytes`; the items of hot traces in a block of
    /// their own, see `BlockLayout`). When it returns, the blocks are in the
    /// segment file (fsynced with `sync: always`) and visible to queries.
    ///
    /// Throws a permanent error when the payload is not a well-formed request or does not hold
    /// `itemCount` items, a retryable one when writing fails (nothing is committed then; a
    /// retry may store some pieces of a split payload twice, which queries deduplicate), and
    /// `closed` after `close()`. A request without items stores nothing. Thread-safe; appends
    /// are serialized.
    public func append(kind: BlockKind, payload: [UInt8], itemCount: Int) throws(StoreError) {
        // Scanning and laying out need no lock: they only read the payload.
        let facts: BlockFacts
        do throws(OTLPDecodeError) {
            // Room for at most a million items at once: the count is the caller's word.
            let expected = min(max(itemCount, 0), 1 << 20)
            facts = try payload.withBytes { (raw) throws(OTLPDecodeError) in try BlockFacts(kind, raw, expected: expected) }
        } catch {
            throw StoreError.invalidPayload(error.message)
        }
        guard facts.itemCount == itemCount else {
            throw StoreError.invalidPayload("itemCount is \(itemCount) but the payload holds \(facts.itemCount) \(kind)")
        }
        guard itemCount > 0 else { return }
        let active = writer.withLock { $0.index }
        let recent = hotTraces.withLock { $0 }
        var hotNow: [OTLPTraceID] = []
        var blocks: [(bytes: [UInt8], facts: BlockFacts)]
        var written = false
        do throws(OTLPDecodeError) {
            let layout = try BlockLayout.cut(kind, payload, facts: facts, maxBytes: config.blockMaxBytes,
                                             take: spareBuffers.take(capacity:)) { id in
                let hot = recent.contains(id) || active.blockCount(of: id) >= Self.hotAfterBlocks
                if hot { hotNow.append(id) }
                return hot
            }
            if let layout {
                blocks = layout.map { ($0.bytes, $0.facts) }
                written = true
            } else {
                blocks = [(payload, facts)]
            }
        } catch {
            throw StoreError.invalidPayload(error.message)
        }
        let total = blocks.reduce(0) { $0 + $1.facts.itemCount }
        guard total == itemCount else {
            throw StoreError.invalidPayload("itemCount is \(itemCount) but the blocks hold \(total) \(kind)")
        }
        defer {
            // The blocks written here go back to the spares, each the only reference to its
            // storage by then (so that the next cut reuses it instead of copying it).
            if written {
                for i in blocks.indices {
                    let bytes = blocks[i].bytes
                    blocks[i].bytes = []
                    spareBuffers.give(bytes)
                }
            }
        }
        try appendBlocks(kind: kind, blocks)
        if !hotNow.isEmpty { hotTraces.withLock { $0.insert(contentsOf: hotNow) } }
    }

    /// Writes `blocks` one after the other with one write (and one fsync with `sync: always`),
    /// then commits them to the index in order.
    private func appendBlocks(kind: BlockKind, _ blocks: [(bytes: [UInt8], facts: BlockFacts)]) throws(StoreError) {
        let stored = try writer.withLock { (w) throws(StoreError) -> Int in
            guard !w.closed else { throw StoreError.closed }
            var encoded: [(record: BlockRecord, facts: BlockFacts)] = []
            var data: [UInt8] = []
            for block in blocks {
                let times = block.facts.timeRange
                let count = block.facts.itemCount
                let frame = try block.bytes.withBytes { (raw) throws(StoreError) in
                    try BlockCodec.encode(kind: kind, payload: raw, itemCount: count, minTime: times.min,
                                          maxTime: times.max, compressor: w.compressor)
                }
                encoded.append((BlockRecord(offset: UInt64(data.count), storedLength: UInt32(frame.bytes.count), kind: kind,
                                            itemCount: UInt32(count), uncompressedLength: UInt32(block.bytes.count),
                                            minTime: times.min, maxTime: times.max, crc: frame.header.crc), block.facts))
                if data.isEmpty { data = frame.bytes } else { data += frame.bytes }
            }
            let empty = w.offset <= UInt64(StoreFormat.segmentHeaderSize)
            if !empty && w.offset + UInt64(data.count) > config.segmentMaxBytes {
                try rotate(&w)
            }
            let offset = w.offset
            do throws(StoreError) {
                try w.segment.file.write(data, at: offset)
                if config.sync == .always {
                    try w.segment.file.sync()
                    counters.fsyncs.add(1, ordering: .relaxed)
                }
            } catch {
                // Nothing is committed; the next block overwrites whatever was written.
                try? w.segment.file.truncate(to: offset)
                throw error
            }
            for var block in encoded {
                block.record.offset += offset
                w.index.commit(block.record, block.facts)
            }
            w.offset = offset + UInt64(data.count)
            if config.sync != .always { w.dirty = true }
            return data.count
        }
        let items = blocks.reduce(0) { $0 + $1.facts.itemCount }
        counters.appendedBlocks.add(UInt64(blocks.count), ordering: .relaxed)
        counters.appendedItems.add(UInt64(items), ordering: .relaxed)
        counters.payloadBytes.add(UInt64(blocks.reduce(0) { $0 + $1.bytes.count }), ordering: .relaxed)
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
