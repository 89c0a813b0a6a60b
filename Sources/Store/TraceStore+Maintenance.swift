#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization
import SystemIO

/// Background work, all on the serial maintenance queue: sealing, retention, and the timer.
extension TraceStore {
    /// Writes the index of `segment` (no longer appended to) and swaps the sealed segment into
    /// the catalog. The data is fsynced first and the index goes through temp file, fsync,
    /// rename and directory fsync, so an index on disk always describes durable data. On
    /// failure the segment stays served from memory, and the next open seals it.
    func seal(_ segment: Segment) {
        guard let memory = segment.index as? MemorySegmentIndex else { return }
        let finalPath = path(StoreFormat.indexName(segment.sequence))
        do throws(StoreError) {
            try segment.file.sync()
            counters.fsyncs.add(1, ordering: .relaxed)
            let index = memory.snapshot()
            let bytes = IndexFile.encode(index, .init(sequence: segment.sequence, created: segment.created, sealed: clock()))
            try StoreError.io { () throws(SystemError) in try AtomicFile.replace(finalPath, with: bytes) }
            let indexFile = try SegmentFile(path: finalPath, flags: O_RDONLY)
            let sealed: SealedIndex
            do throws(BlockProblem) {
                sealed = try SealedIndex(file: indexFile, expectedSequence: segment.sequence)
            } catch {
                throw StoreError.corrupt(finalPath, "index just written does not check: \(error.reason)")
            }
            let replacement = Segment(sequence: segment.sequence, file: segment.file, index: sealed, created: segment.created,
                                      sealed: true, sealedAt: sealed.sealed, indexBytes: UInt64(bytes.count))
            catalog.withLock { segments in
                if let i = segments.firstIndex(where: { $0.sequence == segment.sequence }) { segments[i] = replacement }
            }
            totalBytes.add(UInt64(bytes.count), ordering: .relaxed)
            emit(.sealed(file: segment.path, blocks: index.blocks.count, traces: index.traces.count,
                         bytes: replacement.bytes))
        } catch {
            emit(.sealFailed(file: segment.path, reason: error.description))
        }
        applyRetention()
    }

    /// Deletes the oldest sealed segments while the store is over `retention.max_bytes`, and
    /// every sealed segment sealed longer ago than `retention.max_age`. The active segment and
    /// segments waiting to be sealed are never deleted. Queries holding a deleted segment keep
    /// reading it through its open file.
    func applyRetention() {
        let maxBytes = config.retentionMaxBytes
        let maxAge = config.retentionMaxAge?.nanoseconds
        guard maxBytes != nil || maxAge != nil else { return }
        let now = clock()
        let victims: [(Segment, String)] = catalog.withLock { segments in
            var total = segments.reduce(0) { $0 + $1.bytes }
            var out: [(Segment, String)] = []
            for segment in segments where segment.sealed {
                let reason: String
                if let maxBytes, total > maxBytes {
                    reason = "max_bytes"
                } else if let maxAge, now >= segment.sealedAt, now - segment.sealedAt >= maxAge {
                    reason = "max_age"
                } else {
                    break
                }
                out.append((segment, reason))
                total -= segment.bytes
            }
            let gone = Set(out.map { $0.0.sequence })
            segments.removeAll { gone.contains($0.sequence) }
            return out
        }
        for (segment, reason) in victims {
            do throws(SystemError) {
                try Sys.unlink(segment.path)
                if segment.indexBytes > 0 { try Sys.unlink(path(StoreFormat.indexName(segment.sequence))) }
            } catch {
                emit(.failed(operation: "retention", error: error.description))
            }
            cache.remove(sequence: segment.sequence)
            totalBytes.subtract(segment.bytes, ordering: .relaxed)
            counters.deletedSegments.add(1, ordering: .relaxed)
            emit(.deleted(file: segment.path, bytes: segment.bytes, reason: reason))
        }
    }

    /// Queues one retention pass unless one is already queued.
    func scheduleRetention() {
        guard !retentionScheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        maintenance.async {
            self.retentionScheduled.store(false, ordering: .releasing)
            self.applyRetention()
        }
    }

    /// The periodic pass: fsync (interval mode), rotation by age, retention, and the spare
    /// block buffers given back when unused since the last pass.
    func tick() {
        if case .interval = config.sync { syncIfDirty() }
        spareBuffers.releaseIfIdle()
        if let maxAge = config.segmentMaxAge?.nanoseconds {
            let now = clock()
            do throws(StoreError) {
                try writer.withLock { (w) throws(StoreError) in
                    let empty = w.offset <= UInt64(StoreFormat.segmentHeaderSize)
                    if !w.closed, !empty, now >= w.segment.created, now - w.segment.created >= maxAge {
                        try rotate(&w)
                    }
                }
            } catch {
                emit(.failed(operation: "rotation by age", error: error.description))
            }
        }
        applyRetention()
    }

    /// fsyncs the active segment if it was written since the last fsync; the fsync runs
    /// outside the writer lock, so appends go on meanwhile.
    private func syncIfDirty() {
        let file: SegmentFile? = writer.withLock { w in
            guard w.dirty, !w.closed else { return nil }
            w.dirty = false
            return w.segment.file
        }
        guard let file else { return }
        do throws(StoreError) {
            try file.sync()
            counters.fsyncs.add(1, ordering: .relaxed)
        } catch {
            writer.withLock { $0.dirty = true }
            emit(.failed(operation: "fsync", error: error.description))
        }
    }

    func startTimer() {
        let period: Duration
        if case .interval(let p) = config.sync { period = p } else { period = .seconds(1) }
        let nanos = Int(min(period.nanoseconds, UInt64(Int.max)))
        timer.source.schedule(deadline: .now() + .nanoseconds(nanos), repeating: .nanoseconds(nanos))
        timer.source.setEventHandler { [weak self] in self?.tick() }
        timer.source.resume()
    }
}
