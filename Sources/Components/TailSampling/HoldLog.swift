#if canImport(Glibc)
import Glibc
#endif
import OTLPCodec
import Store
import Synchronization
import SystemIO

/// The crash-safe span hold of `tail_sampling` with `storage: <dir>`: held spans are in a
/// write-ahead log on disk, and memory holds only where they are.
///
/// # Files
///
///     <dir>/LOCK                       flock'ed while a process has the hold open
///     <dir>/hold-<16 hex digits>.wal   segments, numbered from 1, append-only
///
/// A segment is a sequence of frames in the store's block framing (`BlockFrame`: magic,
/// lengths, CRC32C over header and payload), uncompressed:
/// - a *spans* frame (flags 0): one serialized `ExportTraceServiceRequest` holding spans of one
///   trace; `itemCount` is its span count;
/// - a *decided* frame (flags `decidedFlag`): 16-byte trace ids whose traces were decided (not
///   sampled, or sampled and acknowledged by the exporters); their spans frames are dead.
///
/// # Invariants
/// - `append` returns only once its frames are written and `fdatasync`ed: a request is
///   acknowledged to its client after that, so an acknowledged span is on disk.
/// - Segments are deleted oldest first, only when every spans frame in them and in every older
///   segment is dead, and never the active one. So a decided frame is only needed while the
///   segments it refers to exist, and deleting in order never resurrects a decided trace.
/// - A decided frame is written at once but synced only with the next append: a process crash
///   keeps it (the page cache survives `kill -9`); a power loss may lose it, and the trace is
///   then decided again after the restart (a sampled one may be exported twice: at least once).
///
/// # Recovery (open)
/// Every segment is read in order, frame by frame, up to the first frame that does not check
/// out (a torn tail: the file is truncated there). Spans frames of traces without a decided
/// frame are handed to the first processor that asks (`takeRecovered`), with their locations,
/// so nothing is rewritten; then a new active segment is started.
///
/// Thread-safe: a lock serializes everything (during a reload two processors share the log).
public final class HoldLog: Sendable {
    /// Where one spans frame lies: its segment, offset and length (header included).
    public struct Location: Sendable, Hashable {
        var segment: UInt64
        var offset: UInt64
        var length: UInt32
    }

    /// A spans frame found at open.
    public struct Recovered: Sendable {
        public var location: Location
        public var payload: [UInt8]
    }

    static let decidedFlag: UInt16 = 2
    static let segmentBytes: UInt64 = 32 << 20

    private struct Segment {
        var sequence: UInt64
        var fd: Int32
        /// Its file's path (for errors; built once).
        var path: String
        var size: UInt64
        var live: Int
    }

    private struct State {
        var segments: [Segment] = []
        var recovered: [Recovered]? = nil
        var pendingDecided: [UInt8] = []
    }

    public let directory: String
    /// Held while open (released by deinit).
    private let lock: DirectoryLock
    private let state = Mutex(State())

    public init(directory: String) throws(StoreError) {
        self.directory = directory
        lock = try DirectoryLock.store(directory)
        try state.withLock { (s) throws(StoreError) in try recover(&s) }
    }

    deinit {
        state.withLock { s in for seg in s.segments { Sys.close(seg.fd) } }
    }

    private func name(_ sequence: UInt64) -> String {
        let digits = String(sequence, radix: 16)
        return directory + "/hold-" + String(repeating: "0", count: 16 - digits.count) + digits + ".wal"
    }

    // MARK: Recovery

    private func recover(_ s: inout State) throws(StoreError) {
        let sequences = try StoreError.io({ () throws(SystemError) in try Sys.list(directory) }).compactMap { n -> UInt64? in
            guard n.hasPrefix("hold-"), n.hasSuffix(".wal"), n.utf8.count == 25 else { return nil }
            return UInt64(n.dropFirst(5).prefix(16), radix: 16)
        }.sorted()
        var frames: [(Location, [UInt8])] = []
        var decided: Set<OTLPTraceID> = []
        var traceOf: [Location: [OTLPTraceID]] = [:]
        for seq in sequences {
            let path = name(seq)
            let fd = try StoreError.io { () throws(SystemError) in try Sys.open(path, O_RDWR) }
            let size = try StoreError.io { () throws(SystemError) in try Sys.fstat(fd, path: path) }.size
            var bytes = [UInt8](repeating: 0, count: Int(max(0, size)))
            try Self.readAll(fd, into: &bytes, at: 0, path: path)
            var offset = 0
            bytes.withUnsafeBytes { raw in
                while let frame = BlockFrame.parse(UnsafeRawBufferPointer(rebasing: raw[offset...])) {
                    let payload = Array(raw[(offset + frame.payload.lowerBound)..<(offset + frame.payload.upperBound)])
                    if frame.flags == Self.decidedFlag {
                        payload.withUnsafeBytes { ids in
                            var i = 0
                            while i + 16 <= ids.count {
                                if let id = OTLPTraceID(ids, i..<(i + 16)) { decided.insert(id) }
                                i += 16
                            }
                        }
                    } else {
                        let location = Location(segment: seq, offset: UInt64(offset), length: UInt32(frame.length))
                        frames.append((location, payload))
                        traceOf[location] = Self.traceIDs(payload)
                    }
                    offset += frame.length
                }
            }
            if offset < bytes.count {   // torn tail
                try StoreError.io { () throws(SystemError) in try Sys.ftruncate(fd, UInt64(offset), path: path) }
            }
            s.segments.append(Segment(sequence: seq, fd: fd, path: path, size: UInt64(offset), live: 0))
        }
        var recovered: [Recovered] = []
        for (location, payload) in frames where !(traceOf[location] ?? []).allSatisfy(decided.contains) {
            recovered.append(Recovered(location: location, payload: payload))
            if let i = s.segments.firstIndex(where: { $0.sequence == location.segment }) { s.segments[i].live += 1 }
        }
        s.recovered = recovered
        try startSegment(&s)
        try collect(&s)
    }

    private static func readAll(_ fd: Int32, into bytes: inout [UInt8], at offset: UInt64, path: String) throws(StoreError) {
        let n = try bytes.withUnsafeMutableBytes { b in Result { () throws(SystemError) in try Sys.pread(fd, b, at: offset, path: path) } }
            .mapError(StoreError.init).get()
        guard n == bytes.count else { throw StoreError.corrupt(path, "short read at offset \(offset)") }
    }

    static func traceIDs(_ payload: [UInt8]) -> [OTLPTraceID] {
        (try? OTLPScanner.spans(payload))?.spans.compactMap(\.traceID) ?? []
    }

    private func startSegment(_ s: inout State) throws(StoreError) {
        let seq = (s.segments.last?.sequence ?? 0) + 1
        let path = name(seq)
        let fd = try StoreError.io { () throws(SystemError) in try Sys.open(path, O_RDWR | O_CREAT | O_EXCL) }
        s.segments.append(Segment(sequence: seq, fd: fd, path: path, size: 0, live: 0))
        try StoreError.io { () throws(SystemError) in try Sys.fsyncDirectory(directory) }
    }

    /// The spans frames found at open that no decided frame covers, once (to the first caller).
    public func takeRecovered() -> [Recovered] {
        state.withLock { s in defer { s.recovered = [] }; return s.recovered ?? [] }
    }

    // MARK: Writing

    /// Writes one spans frame per piece (a request holding one trace's spans) and syncs;
    /// returns where each went. Decided frames waiting since the last append go first.
    public func append(_ pieces: [(bytes: [UInt8], spans: Int)]) throws(StoreError) -> [Location] {
        // Laid out with room for each frame's header, then framed in place.
        var framed: [UInt8] = []
        framed.reserveCapacity(pieces.reduce(0) { $0 + $1.bytes.count + BlockFrame.headerSize })
        var ranges: [(range: Range<Int>, spans: Int)] = []
        for piece in pieces {
            framed.append(contentsOf: repeatElement(0, count: BlockFrame.headerSize))
            ranges.append((framed.count..<(framed.count + piece.bytes.count), piece.spans))
            framed.append(contentsOf: piece.bytes)
        }
        return try append(framing: &framed, pieces: ranges)
    }

    /// The same for pieces laid out with `BlockFrame.headerSize` bytes of room before each
    /// (`OTLPRequestLayout.writeGroups(gap:)`), one after the other from the start of `buffer`:
    /// the headers are written in place and the buffer goes to the file as it is.
    public func append(framing buffer: inout [UInt8], pieces: [(range: Range<Int>, spans: Int)]) throws(StoreError) -> [Location] {
        let h = BlockFrame.headerSize
        assert(pieces.first.map { $0.range.lowerBound == h } ?? buffer.isEmpty, "frames start at the buffer's start")
        return try state.withLock { (s) throws(StoreError) -> [Location] in
            if s.segments.last!.size >= Self.segmentBytes {
                try startSegment(&s)
                try collect(&s)
            }
            buffer.withUnsafeMutableBytes { raw in
                for piece in pieces {
                    BlockFrame.writeHeader(kind: .spans, flags: 0, itemCount: piece.spans, minTime: 0, maxTime: 0,
                                           frame: UnsafeMutableRawBufferPointer(rebasing: raw[(piece.range.lowerBound - h)..<piece.range.upperBound]))
                }
            }
            // Decided frames waiting since the last write go first, in their own write.
            var decided: [UInt8] = []
            if !s.pendingDecided.isEmpty {
                s.pendingDecided.withUnsafeBytes {
                    BlockFrame.append(kind: .spans, flags: Self.decidedFlag, payload: $0, itemCount: 0, minTime: 0, maxTime: 0, to: &decided)
                }
            }
            let active = s.segments.count - 1
            let seg = s.segments[active]
            let base = seg.size + UInt64(decided.count)
            let locations = pieces.map {
                Location(segment: seg.sequence, offset: base + UInt64($0.range.lowerBound - h), length: UInt32($0.range.count + h))
            }
            let path = seg.path
            do throws(SystemError) {
                if !decided.isEmpty {
                    try decided.withUnsafeBytes { b in Result { () throws(SystemError) in try Sys.pwrite(seg.fd, b, at: seg.size, path: path) } }.get()
                }
                try buffer.withUnsafeBytes { b in Result { () throws(SystemError) in try Sys.pwrite(seg.fd, b, at: base, path: path) } }.get()
                try Sys.fdatasync(seg.fd, path: path)
            } catch {
                throw StoreError(error)
            }
            s.segments[active].size = base + UInt64(buffer.count)
            s.segments[active].live += pieces.count
            s.pendingDecided.removeAll(keepingCapacity: true)
            return locations
        }
    }

    /// The span bytes at `locations` (whole requests, one after the other).
    public func read(_ locations: [Location]) throws(StoreError) -> [UInt8] {
        var out: [UInt8] = []
        try read(locations, appendingTo: &out)
        return out
    }

    /// Appends the span bytes at `locations` to `out`, in the log's order (each frame's payload
    /// is a whole request, so the order does not matter): frames next to each other are read
    /// with one `pread` (a batch's traces were written together), each is checked and its
    /// header dropped. On an error `out` is left as it was.
    public func read(_ locations: [Location], appendingTo out: inout [UInt8]) throws(StoreError) {
        let sorted = locations.sorted { ($0.segment, $0.offset) < ($1.segment, $1.offset) }
        try state.withLock { (s) throws(StoreError) in
            let before = out.count
            do throws(StoreError) {
                var i = 0
                while i < sorted.count {
                    // A run of adjacent frames.
                    var j = i + 1
                    var end = sorted[i].offset + UInt64(sorted[i].length)
                    while j < sorted.count, sorted[j].segment == sorted[i].segment, sorted[j].offset == end,
                          end - sorted[i].offset < Self.readRunBytes {
                        end += UInt64(sorted[j].length)
                        j += 1
                    }
                    try readRun(sorted[i..<j], segments: s.segments, appendingTo: &out)
                    i = j
                }
            } catch {
                out.removeSubrange(before...)
                throw error
            }
        }
    }

    /// Largest single read when frames are coalesced.
    static let readRunBytes: UInt64 = 8 << 20

    private func readRun(_ run: ArraySlice<Location>, segments: [Segment], appendingTo out: inout [UInt8]) throws(StoreError) {
        let first = run.first!
        guard let seg = segments.first(where: { $0.sequence == first.segment }) else {
            throw StoreError.corrupt(name(first.segment), "segment of a held trace is gone")
        }
        let length = run.reduce(0) { $0 + Int($1.length) }
        let bytes = try Result { () throws -> [UInt8] in
            try [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
                count = try Sys.pread(seg.fd, UnsafeMutableRawBufferPointer(buffer), at: first.offset, path: seg.path)
            }
        }.mapError { ($0 as? SystemError).map(StoreError.init) ?? StoreError.corrupt(seg.path, "\($0)") }.get()
        guard bytes.count == length else { throw StoreError.corrupt(seg.path, "short read at offset \(first.offset)") }
        // The offset of a frame that does not check out, if any.
        let bad: UInt64? = bytes.withUnsafeBytes { raw in
            var at = 0
            for location in run {
                let frame = UnsafeRawBufferPointer(rebasing: raw[at..<(at + Int(location.length))])
                guard let parsed = BlockFrame.parse(frame), parsed.payload.upperBound <= frame.count else { return location.offset }
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: frame[parsed.payload]))
                at += Int(location.length)
            }
            return nil
        }
        if let bad { throw StoreError.corrupt(seg.path, "held spans at offset \(bad) do not check out") }
    }

    /// Marks the traces `ids` decided and their frames at `locations` dead (a decided frame,
    /// written now and synced with the next append); deletes the segments no longer needed.
    /// A failed write leaves the ids for the next append to write.
    public func resolve(_ ids: [OTLPTraceID], _ locations: [Location]) {
        state.withLock { s in
            for id in ids { s.pendingDecided.append(contentsOf: id.bytes) }
            for location in locations {
                if let i = s.segments.firstIndex(where: { $0.sequence == location.segment }) { s.segments[i].live -= 1 }
            }
            var frame: [UInt8] = []
            s.pendingDecided.withUnsafeBytes {
                BlockFrame.append(kind: .spans, flags: Self.decidedFlag, payload: $0, itemCount: 0, minTime: 0, maxTime: 0, to: &frame)
            }
            let seg = s.segments[s.segments.count - 1]
            let path = seg.path
            let written = frame.withUnsafeBytes { b in Result { () throws(SystemError) in try Sys.pwrite(seg.fd, b, at: seg.size, path: path) } }
            if case .success = written {
                s.segments[s.segments.count - 1].size += UInt64(frame.count)
                s.pendingDecided.removeAll(keepingCapacity: true)
            }
            try? collect(&s)
        }
    }

    private func collect(_ s: inout State) throws(StoreError) {
        while s.segments.count > 1, s.segments[0].live <= 0 {
            let seg = s.segments.removeFirst()
            Sys.close(seg.fd)
            let path = name(seg.sequence)
            try StoreError.io { () throws(SystemError) in try Sys.unlink(path) }
        }
    }

    /// Segment files on disk (tests, metrics).
    public var segmentCount: Int { state.withLock { $0.segments.count } }
}

/// One `HoldLog` per directory in the process, shared (and reference-counted) by the tail
/// samplers that use it, so that a reload's old and new instance use the same open log.
public final class HoldLogRegistry: Sendable {
    private let entries = Mutex<[String: (log: HoldLog, references: Int)]>([:])

    public init() {}

    public func acquire(_ directory: String) throws(StoreError) -> HoldLog {
        try entries.withLock { (all) throws(StoreError) -> HoldLog in
            if let entry = all[directory] {
                all[directory] = (entry.log, entry.references + 1)
                return entry.log
            }
            let log = try HoldLog(directory: directory)
            all[directory] = (log, 1)
            return log
        }
    }

    public func release(_ directory: String) {
        entries.withLock { all in
            guard let entry = all[directory] else { return }
            all[directory] = entry.references > 1 ? (entry.log, entry.references - 1) : nil
        }
    }
}
