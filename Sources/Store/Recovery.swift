#if canImport(Glibc)
import Glibc
#endif
import SystemIO

/// Opening a store directory: finds the segments, checks or rebuilds their indexes, cuts torn
/// tails, and picks or creates the active segment. The rules are under "Recovery" in
/// `StoreFormat`; every cut or skipped byte is reported through `onEvent`.
struct Recovery {
    let directory: String
    let clock: @Sendable () -> UInt64
    let onEvent: @Sendable (StoreEvent) -> Void

    struct Recovered {
        /// Holds the directory's lock while open.
        var lock: DirectoryLock
        /// Every readable segment, oldest first; the last one is `active`.
        var segments: [Segment]
        var active: Segment
        /// Unsealed segments older than the active one, to be sealed in the background.
        var toSeal: [Segment]
    }

    func run() throws(StoreError) -> Recovered {
        let lock = try DirectoryLock.store(directory)
        var data: Set<UInt64> = []
        var indexes: Set<UInt64> = []
        var highest: UInt64 = 0
        for name in try StoreError.io({ () throws(SystemError) in try Sys.list(directory) }) {
            guard let (sequence, suffix) = StoreFormat.parse(name) else { continue }
            switch suffix {
            case ".seg": data.insert(sequence)
            case ".idx": indexes.insert(sequence)
            case _ where suffix.hasPrefix(".idx.tmp"):
                // An interrupted sealing (`AtomicFile`'s temporary, or an older `.idx.tmp`).
                try StoreError.io { () throws(SystemError) in try Sys.unlink(path(name)) }
                emit(.removedLeftover(file: path(name)))
                continue
            default: continue
            }
            highest = max(highest, sequence)
        }
        for sequence in indexes.subtracting(data).sorted() {
            let name = path(StoreFormat.indexName(sequence))
            try StoreError.io { () throws(SystemError) in try Sys.unlink(name) }
            emit(.removedLeftover(file: name))
        }

        var segments: [Segment] = []
        var unsealed: [Segment] = []
        for sequence in data.sorted() {
            if indexes.contains(sequence) {
                if let segment = try openSealed(sequence) { segments.append(segment) }
            } else if let segment = try openUnsealed(sequence) {
                segments.append(segment)
                unsealed.append(segment)
            }
        }
        // The newest segment continues as the active one when it is unsealed and readable;
        // otherwise a new one starts after every number in use.
        if let last = segments.last, !last.sealed, last.sequence == highest {
            return Recovered(lock: lock, segments: segments, active: last, toSeal: unsealed.dropLast())
        }
        let active = try Self.createSegment(directory: directory, sequence: highest + 1, created: clock())
        segments.append(active)
        return Recovered(lock: lock, segments: segments, active: active, toSeal: unsealed)
    }

    /// Creates a new, empty segment file (header written and fsynced, with its directory
    /// entry) and returns it with an empty in-memory index.
    static func createSegment(directory: String, sequence: UInt64, created: UInt64) throws(StoreError) -> Segment {
        let name = StoreFormat.join(directory, StoreFormat.segmentName(sequence))
        let file = try SegmentFile(path: name, flags: O_RDWR | O_CREAT | O_EXCL)
        do throws(StoreError) {
            try file.write(SegmentHeader(sequence: sequence, created: created).encoded(), at: 0)
            try StoreError.io { () throws(SystemError) in
                try Sys.fsync(file.fd, path: name)
                try Sys.fsyncDirectory(directory)
            }
        } catch {
            // Leave no half-made file behind: the next attempt creates the same name.
            _ = try? Sys.unlink(name)
            throw error
        }
        let index = MemorySegmentIndex(MemoryIndex(dataLength: UInt64(StoreFormat.segmentHeaderSize)))
        return Segment(sequence: sequence, file: file, index: index, created: created, sealed: false)
    }

    /// A segment with an index file. A bad index is reported and replaced by a scan, read only.
    private func openSealed(_ sequence: UInt64) throws(StoreError) -> Segment? {
        let file = try SegmentFile(path: path(StoreFormat.segmentName(sequence)), flags: O_RDONLY)
        let indexFile = try SegmentFile(path: path(StoreFormat.indexName(sequence)), flags: O_RDONLY)
        let indexBytes = try indexFile.size()
        let size = try file.size()
        do throws(BlockProblem) {
            let index = try SealedIndex(file: indexFile, expectedSequence: sequence)
            if size < index.dataLength {
                // Served anyway: blocks past the end fail their read and are reported then.
                emit(.skippedCorruptRange(file: file.path, offset: size, bytes: index.dataLength - size,
                                          reason: "missing: the index covers \(index.dataLength) bytes"))
            }
            return Segment(sequence: sequence, file: file, index: index, created: index.created,
                           sealed: true, sealedAt: index.sealed, indexBytes: indexBytes)
        } catch {
            emit(.corruptIndex(file: indexFile.path, reason: error.reason))
        }
        switch try SegmentScanner.scan(file, expectedSequence: sequence) {
        case .badHeader(let reason, _):
            emit(.corruptSegment(file: file.path, reason: reason))
            return nil
        case .scanned(let result):
            for s in result.skipped {
                emit(.skippedCorruptRange(file: file.path, offset: s.offset, bytes: s.bytes, reason: s.reason))
            }
            if let reason = result.tailReason {
                let offset = result.index.dataLength
                emit(.skippedCorruptRange(file: file.path, offset: offset, bytes: result.fileSize - offset, reason: reason))
            }
            return Segment(sequence: sequence, file: file, index: MemorySegmentIndex(result.index),
                           created: result.header.created, sealed: true, sealedAt: try file.modified(),
                           indexBytes: indexBytes)
        }
    }

    /// A segment without index: scanned, its bad tail cut. A torn header (a crash right after
    /// creating the file) is rewritten as an empty segment.
    private func openUnsealed(_ sequence: UInt64) throws(StoreError) -> Segment? {
        let name = path(StoreFormat.segmentName(sequence))
        let file = try SegmentFile(path: name, flags: O_RDWR)
        let size = try file.size()
        if size < UInt64(StoreFormat.segmentHeaderSize) {
            let created = clock()
            try file.truncate(to: 0)
            try file.write(SegmentHeader(sequence: sequence, created: created).encoded(), at: 0)
            try StoreError.io { () throws(SystemError) in try Sys.fsync(file.fd, path: name) }
            if size > 0 {
                emit(.truncatedTail(file: name, offset: 0, bytes: size, reason: "torn segment header"))
            }
            let index = MemorySegmentIndex(MemoryIndex(dataLength: UInt64(StoreFormat.segmentHeaderSize)))
            return Segment(sequence: sequence, file: file, index: index, created: created, sealed: false)
        }
        switch try SegmentScanner.scan(file, expectedSequence: sequence) {
        case .badHeader(let reason, _):
            emit(.corruptSegment(file: name, reason: reason))
            return nil
        case .scanned(let result):
            for s in result.skipped {
                emit(.skippedCorruptRange(file: name, offset: s.offset, bytes: s.bytes, reason: s.reason))
            }
            if let reason = result.tailReason {
                let offset = result.index.dataLength
                try file.truncate(to: offset)
                try StoreError.io { () throws(SystemError) in try Sys.fsync(file.fd, path: name) }
                emit(.truncatedTail(file: name, offset: offset, bytes: result.fileSize - offset, reason: reason))
            }
            return Segment(sequence: sequence, file: file, index: MemorySegmentIndex(result.index),
                           created: result.header.created, sealed: false)
        }
    }

    private func path(_ name: String) -> String { StoreFormat.join(directory, name) }

    private func emit(_ kind: StoreEvent.Kind) { onEvent(StoreEvent(kind)) }
}
