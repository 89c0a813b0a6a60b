import Glibc
import Synchronization
import Checksums

/// A persistent FIFO of byte records (serialized OTLP logs requests) for the Loki exporter, in
/// the spirit of Vector's disk buffer.
///
/// ## Files (in the `sending_queue.storage` directory)
/// - `segment-<16 hex digits>.q`: append-only segment files, numbered upwards. Each starts with
///   the 8-byte magic `LKQSEG1\n`, then records:
///   `length: u32 LE | crc: u32 LE | payload: length bytes`, where `crc` is CRC-32C over the
///   four length bytes followed by the payload.
/// - `cursor`: the position of the first record not yet handled:
///   `"LKQCUR1\n" | segment: u64 LE | offset: u64 LE | crc: u32 LE` (CRC-32C of the first
///   24 bytes). Written atomically: `cursor.tmp`, fsync, rename, fsync of the directory.
///
/// ## Invariants
/// - Only the active (highest-numbered) segment is written, and only by appending whole frames
///   (a failed write is truncated away). A new segment is started at each open and when the
///   active one would grow past `segmentMaxBytes`.
/// - The cursor only moves forward, and only when the sender calls `commit` (Loki answered 2xx,
///   or the records were dropped as permanently rejected). Records before it are never read
///   again; segments wholly before it are deleted.
/// - With `sync`, a record is fsynced before `append` returns, so an acknowledged batch survives
///   a crash of the process or of the machine; without it, a crash of the process only.
///
/// ## Recovery (`init`)
/// Segments from the cursor's onwards are scanned frame by frame. A frame that is cut short,
/// longer than `maxRecordBytes` or fails its CRC ends its segment: in the last segment that is
/// the torn tail of a crash, and the file is truncated there; in an earlier (sealed) segment it
/// is disk corruption, and the rest of that segment is skipped (counted in `corruptBytes`). A
/// missing or corrupt cursor restarts from the first segment (duplicates rather than loss).
///
/// Thread-safe: the writer (`append`) and the sender (`peek`, `commit`) share one lock, held
/// during file I/O; the appends and reads are short.
final class LokiDiskQueue: Sendable {
    struct Record: Sendable {
        var segment: UInt64
        /// Offset of the frame (its length field) in the segment.
        var offset: Int
        var length: Int
        var end: Int { offset + 8 + length }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static let segmentMagic: [UInt8] = Array("LKQSEG1\n".utf8)
    static let cursorMagic: [UInt8] = Array("LKQCUR1\n".utf8)
    static let maxRecordBytes = 256 << 20

    private struct State {
        var pending: [Record] = []
        var head = 0
        var pendingBytes = 0
        var activeSegment: UInt64 = 0
        var activeFD: Int32 = -1
        /// Rollovers that could not start a new segment (the record went to the active one).
        var rolloverFailures = 0
        var activeSize = 0
        var corruptBytes = 0
        var closed = false
        /// Holds `flock` on `<directory>/lock` while open.
        var lockFD: Int32 = -1
    }

    let directory: String
    let segmentMaxBytes: Int
    let sync: Bool
    private let state: Mutex<State>

    /// `lockWait`: how long to wait for the directory while another queue holds it (an
    /// exporter of this process whose sender is finishing its last push after a shutdown).
    init(directory: String, segmentMaxBytes: Int, sync: Bool, lockWait: UInt64 = 0) throws(Failure) {
        self.directory = directory
        self.segmentMaxBytes = segmentMaxBytes
        self.sync = sync
        do throws(FileIO.Failure) {
            var s = State()
            try FileIO.makeDirectory(directory)
            s.lockFD = try Self.lock(directory, wait: lockWait)
            do throws(FileIO.Failure) {
                try Self.recover(directory, pending: &s.pending, bytes: &s.pendingBytes,
                                 corrupt: &s.corruptBytes, next: &s.activeSegment)
                try Self.startSegment(directory, s.activeSegment, into: &s)
            } catch {
                Glibc.close(s.lockFD)
                throw error
            }
            state = Mutex(s)
        } catch {
            throw Failure(description: "disk queue \(directory): \(error)")
        }
    }

    /// Entries (records) and payload bytes waiting.
    var size: (records: Int, bytes: Int) {
        state.withLock { ($0.pending.count - $0.head, $0.pendingBytes) }
    }

    var corruptBytes: Int { state.withLock { $0.corruptBytes } }
    /// Rollovers that found no room for a new segment (the records went to the active one).
    var rolloverFailures: Int { state.withLock { $0.rolloverFailures } }

    /// Appends one record (fsynced when `sync`).
    func append(_ payload: [UInt8]) throws(Failure) {
        guard payload.count <= Self.maxRecordBytes else {
            throw Failure(description: "a batch of \(payload.count) bytes is over the queue's record limit of \(Self.maxRecordBytes) bytes")
        }
        // The 8-byte header is written before the payload, not copied in front of it (batches
        // are megabytes); a crash between the two writes leaves a torn frame, which recovery
        // truncates like any other.
        var header = [UInt8]()
        header.reserveCapacity(8)
        Self.appendLE(UInt32(payload.count), to: &header)
        var crc = header.withUnsafeBytes { CRC32C.update(0, $0) }
        crc = payload.withUnsafeBytes { CRC32C.update(crc, $0) }
        Self.appendLE(crc, to: &header)
        let frameSize = header.count + payload.count
        let result: Result<Void, FileIO.Failure> = state.withLock { s in
            do throws(FileIO.Failure) {
                guard !s.closed else { throw FileIO.Failure(description: "the queue is closed") }
                if s.activeFD < 0 {
                    // An earlier rollover could not start a segment and no segment is open.
                    try Self.startSegment(directory, s.activeSegment + 1, into: &s)
                } else if s.activeSize + frameSize > segmentMaxBytes && s.activeSize > Self.segmentMagic.count {
                    // The next segment is started before the active one is closed: when it
                    // cannot be (ENOSPC), the record goes to the active segment (past its
                    // size target) and the descriptor the queue owns stays its own; a closed
                    // number is never written to or closed again (it may be a socket by now).
                    let previous = s.activeFD
                    do throws(FileIO.Failure) {
                        try Self.startSegment(directory, s.activeSegment + 1, into: &s)
                        Glibc.close(previous)
                    } catch {
                        s.rolloverFailures += 1
                    }
                }
                let path = Self.segmentPath(directory, s.activeSegment)
                do throws(FileIO.Failure) {
                    try FileIO.writeAll(s.activeFD, header, path)
                    try FileIO.writeAll(s.activeFD, payload, path)
                    if sync { try FileIO.fsync(s.activeFD, path) }
                } catch {
                    try? FileIO.truncate(s.activeFD, s.activeSize, path)
                    throw error
                }
                s.pending.append(Record(segment: s.activeSegment, offset: s.activeSize, length: payload.count))
                s.activeSize += frameSize
                s.pendingBytes += payload.count
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        if case .failure(let error) = result { throw Failure(description: "disk queue \(directory): \(error)") }
    }

    /// The oldest waiting records, as many as fit in `maxBytes` of payload (at least one), with
    /// their payloads. Does not consume them: `commit(count:)` does.
    func peek(maxBytes: Int) throws(Failure) -> [[UInt8]] {
        let result: Result<[[UInt8]], FileIO.Failure> = state.withLock { s in
            var out: [[UInt8]] = []
            var total = 0
            var index = s.head
            var fds: [UInt64: Int32] = [:]
            defer { for fd in fds.values { Glibc.close(fd) } }
            do throws(FileIO.Failure) {
                while index < s.pending.count {
                    let record = s.pending[index]
                    if !out.isEmpty && total + record.length > maxBytes { break }
                    let path = Self.segmentPath(directory, record.segment)
                    let fd: Int32
                    if let open = fds[record.segment] { fd = open } else {
                        fd = try FileIO.open(path, O_RDONLY)
                        fds[record.segment] = fd
                    }
                    out.append(try FileIO.read(fd, count: record.length, at: record.offset + 8, path))
                    total += record.length
                    index += 1
                }
                return .success(out)
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let records): return records
        case .failure(let error): throw Failure(description: "disk queue \(directory): \(error)")
        }
    }

    /// Marks the `count` oldest records handled: moves and persists the cursor, deletes
    /// segments wholly before it.
    func commit(count: Int) throws(Failure) {
        let result: Result<Void, FileIO.Failure> = state.withLock { s in
            let n = min(count, s.pending.count - s.head)
            guard n > 0 else { return .success(()) }
            for i in s.head..<s.head + n { s.pendingBytes -= s.pending[i].length }
            s.head += n
            if s.head > 1024 && s.head * 2 > s.pending.count {
                s.pending.removeFirst(s.head)
                s.head = 0
            }
            let cursor = s.head < s.pending.count
                ? (s.pending[s.head].segment, s.pending[s.head].offset)
                : (s.activeSegment, s.activeSize)
            func dropConsumed() throws(FileIO.Failure) {
                for (number, name) in try Self.segments(directory) where number < cursor.0 {
                    unlink(directory + "/" + name)
                }
            }
            do throws(FileIO.Failure) {
                do throws(FileIO.Failure) {
                    try Self.writeCursor(directory, segment: cursor.0, offset: cursor.1)
                } catch {
                    // A full disk: the delivered segments are removed first to make room for
                    // the cursor. A crash before it is written replays the cursor segment's
                    // delivered records (at least once, never lost): recovery skips segments
                    // that are gone.
                    try dropConsumed()
                    try Self.writeCursor(directory, segment: cursor.0, offset: cursor.1)
                }
                try dropConsumed()
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        if case .failure(let error) = result { throw Failure(description: "disk queue \(directory): \(error)") }
    }

    /// Closes the active segment; later appends fail. Idempotent.
    func close() {
        state.withLock { s in
            guard !s.closed else { return }
            s.closed = true
            if s.activeFD >= 0 { Glibc.close(s.activeFD) }
            s.activeFD = -1
            if s.lockFD >= 0 { Glibc.close(s.lockFD) }   // releases the flock
            s.lockFD = -1
        }
    }

    /// One queue per directory: a second exporter or collectord process on the same directory
    /// would send every batch twice and corrupt the cursor, so it is refused (after `wait` ns).
    private static func lock(_ directory: String, wait: UInt64) throws(FileIO.Failure) -> Int32 {
        let path = directory + "/lock"
        let fd = try FileIO.open(path, O_RDWR | O_CREAT)
        var waited: UInt64 = 0
        while true {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return fd }
            let e = errno
            if e == EWOULDBLOCK && waited < wait {
                usleep(50_000)
                waited += 50_000_000
                continue
            }
            Glibc.close(fd)
            if e == EWOULDBLOCK {
                throw FileIO.Failure(description: "\(directory) is in use by another loki exporter (another collectord, or a reload that changed this exporter's settings: restart to apply them)")
            }
            throw FileIO.Failure(description: "flock \(path): \(String(cString: strerror(e)))")
        }
    }

    deinit { close() }

    /// Creates segment `number` (magic written and synced, directory synced) as the active one.
    private static func startSegment(_ directory: String, _ number: UInt64, into s: inout State) throws(FileIO.Failure) {
        let path = segmentPath(directory, number)
        let fd = try FileIO.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND)
        do throws(FileIO.Failure) {
            try FileIO.writeAll(fd, segmentMagic, path)
            try FileIO.fsync(fd, path)
            try FileIO.fsyncDirectory(directory)
        } catch {
            Glibc.close(fd)
            unlink(path)   // no half-written segment left for recovery to find
            throw error
        }
        s.activeSegment = number
        s.activeFD = fd
        s.activeSize = segmentMagic.count
    }
}
