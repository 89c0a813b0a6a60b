import Glibc
import Synchronization
import Checksums
import SystemIO

/// A persistent FIFO of byte records (serialized OTLP requests) for exporters' crash-safe
/// `sending_queue` (first made for the Loki exporter, whose names the file magics keep), in the
/// spirit of Vector's disk buffer.
///
/// ## Files (in the `sending_queue.storage` directory)
/// - `segment-<16 hex digits>.q`: append-only segment files, numbered upwards. Each starts with
///   the 8-byte magic `LKQSEG1\n`, then records:
///   `length: u32 LE | crc: u32 LE | payload: length bytes`, where `crc` is CRC-32C over the
///   four length bytes followed by the payload.
/// - `cursor`: the position of the first record not yet handled:
///   `"LKQCUR1\n" | segment: u64 LE | offset: u64 LE | crc: u32 LE` (CRC-32C of the first
///   24 bytes). Written by `AtomicFile.replace` (temporary file, fsync, rename, fsync of the
///   directory); temporary files a crash left behind are deleted at open.
///
/// ## Invariants
/// - Only the active (highest-numbered) segment is written, and only by appending whole frames
///   (a failed write is truncated away). A new segment is started at each open and when the
///   active one would grow past `segmentMaxBytes`.
/// - The cursor only moves forward, and only when the sender calls `commit` (the backend took
///   the records, or they were dropped as permanently rejected). Records before it are never read
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
public final class DiskQueue: Sendable {
    public struct Record: Sendable {
        var segment: UInt64
        /// Offset of the frame (its length field) in the segment.
        var offset: Int
        var length: Int
        var end: Int { offset + 8 + length }
    }

    /// Why the queue failed, prefixed `disk queue <directory>: `.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) { self.description = description }

        /// The one conversion from the system layer, e.g.
        /// `disk queue /q: write /q/segment-0000000000000003.q: No space left on device`.
        init(directory: String, _ error: SystemError) {
            description = "disk queue \(directory): \(error)"
        }
    }

    static let segmentMagic: [UInt8] = Array("LKQSEG1\n".utf8)
    static let cursorMagic: [UInt8] = Array("LKQCUR1\n".utf8)
    public static let maxRecordBytes = 256 << 20

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
        var lock: DirectoryLock?
    }

    public let directory: String
    public let segmentMaxBytes: Int
    public let sync: Bool
    private let state: Mutex<State>

    /// `lockWait`: how long to wait for the directory while another queue holds it (an
    /// exporter of this process whose sender is finishing its last push after a shutdown).
    public init(directory: String, segmentMaxBytes: Int, sync: Bool, lockWait: UInt64 = 0) throws(Failure) {
        self.directory = directory
        self.segmentMaxBytes = segmentMaxBytes
        self.sync = sync
        var s = State()
        s.lock = try Self.lock(directory, wait: lockWait)
        do throws(SystemError) {
            AtomicFile.removeLeftovers(of: directory + "/cursor")
            try Self.recover(directory, pending: &s.pending, bytes: &s.pendingBytes,
                             corrupt: &s.corruptBytes, next: &s.activeSegment)
            try Self.startSegment(directory, s.activeSegment, into: &s)
        } catch {
            throw Failure(directory: directory, error)   // `s.lock` goes with `s`: released
        }
        state = Mutex(s)
    }

    /// Entries (records) and payload bytes waiting.
    public var size: (records: Int, bytes: Int) {
        state.withLock { ($0.pending.count - $0.head, $0.pendingBytes) }
    }

    public var corruptBytes: Int { state.withLock { $0.corruptBytes } }
    /// Rollovers that found no room for a new segment (the records went to the active one).
    public var rolloverFailures: Int { state.withLock { $0.rolloverFailures } }

    /// Appends one record (fsynced when `sync`).
    public func append(_ payload: [UInt8]) throws(Failure) {
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
        let result: Result<Void, Failure> = state.withLock { s in
            guard !s.closed else { return .failure(Failure(description: "disk queue \(directory): the queue is closed")) }
            do throws(SystemError) {
                if s.activeFD < 0 {
                    // An earlier rollover could not start a segment and no segment is open.
                    try Self.startSegment(directory, s.activeSegment + 1, into: &s)
                } else if s.activeSize + frameSize > segmentMaxBytes && s.activeSize > Self.segmentMagic.count {
                    // The next segment is started before the active one is closed: when it
                    // cannot be (ENOSPC), the record goes to the active segment (past its
                    // size target) and the descriptor the queue owns stays its own; a closed
                    // number is never written to or closed again (it may be a socket by now).
                    let previous = s.activeFD
                    do throws(SystemError) {
                        try Self.startSegment(directory, s.activeSegment + 1, into: &s)
                        Sys.close(previous)
                    } catch {
                        s.rolloverFailures += 1
                    }
                }
                let path = Self.segmentPath(directory, s.activeSegment)
                do throws(SystemError) {
                    try Sys.write(s.activeFD, header, path: path)
                    try Sys.write(s.activeFD, payload, path: path)
                    if sync { try Sys.fsync(s.activeFD, path: path) }
                } catch {
                    try? Sys.ftruncate(s.activeFD, UInt64(s.activeSize), path: path)
                    throw error
                }
                s.pending.append(Record(segment: s.activeSegment, offset: s.activeSize, length: payload.count))
                s.activeSize += frameSize
                s.pendingBytes += payload.count
                return .success(())
            } catch {
                return .failure(Failure(directory: directory, error))
            }
        }
        try result.get()
    }

    /// The oldest waiting records, as many as fit in `maxBytes` of payload (at least one), with
    /// their payloads. Does not consume them: `commit(count:)` does.
    public func peek(maxBytes: Int) throws(Failure) -> [[UInt8]] {
        let result: Result<[[UInt8]], SystemError> = state.withLock { s in
            var out: [[UInt8]] = []
            var total = 0
            var index = s.head
            var fds: [UInt64: Int32] = [:]
            defer { for fd in fds.values { Sys.close(fd) } }
            do throws(SystemError) {
                while index < s.pending.count {
                    let record = s.pending[index]
                    if !out.isEmpty && total + record.length > maxBytes { break }
                    let path = Self.segmentPath(directory, record.segment)
                    let fd: Int32
                    if let open = fds[record.segment] { fd = open } else {
                        fd = try Sys.open(path, O_RDONLY)
                        fds[record.segment] = fd
                    }
                    out.append(try Sys.pread(fd, count: record.length, at: UInt64(record.offset + 8), path: path))
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
        case .failure(let error): throw Failure(directory: directory, error)
        }
    }

    /// Marks the `count` oldest records handled: moves and persists the cursor, deletes
    /// segments wholly before it.
    public func commit(count: Int) throws(Failure) {
        let result: Result<Void, SystemError> = state.withLock { s in
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
            func dropConsumed() throws(SystemError) {
                for (number, name) in try Self.segments(directory) where number < cursor.0 {
                    _ = try? Sys.unlink(directory + "/" + name)
                }
            }
            do throws(SystemError) {
                do throws(SystemError) {
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
        if case .failure(let error) = result { throw Failure(directory: directory, error) }
    }

    /// Closes the active segment; later appends fail. Idempotent.
    public func close() {
        state.withLock { s in
            guard !s.closed else { return }
            s.closed = true
            if s.activeFD >= 0 { Sys.close(s.activeFD) }
            s.activeFD = -1
            s.lock = nil   // releases the flock
        }
    }

    /// One queue per directory: a second exporter or collectord process on the same directory
    /// would send every batch twice and corrupt the cursor, so it is refused (after `wait` ns).
    private static func lock(_ directory: String, wait: UInt64) throws(Failure) -> DirectoryLock {
        do throws(SystemError) {
            try Sys.makeDirectories(directory)
            return try DirectoryLock(directory: directory, name: "lock", wait: wait)
        } catch let error where error.isBusy && error.call == "flock" {
            throw Failure(description: "disk queue \(directory): \(directory) is in use by another loki exporter (another collectord, or a reload that changed this exporter's settings: restart to apply them)")
        } catch {
            throw Failure(directory: directory, error)
        }
    }

    deinit { close() }

    /// Creates segment `number` (magic written and synced, directory synced) as the active one.
    private static func startSegment(_ directory: String, _ number: UInt64, into s: inout State) throws(SystemError) {
        let path = segmentPath(directory, number)
        let fd = try Sys.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND)
        do throws(SystemError) {
            try Sys.write(fd, segmentMagic, path: path)
            try Sys.fsync(fd, path: path)
            try Sys.fsyncDirectory(directory)
        } catch {
            Sys.close(fd)
            _ = try? Sys.unlink(path)   // no half-written segment left for recovery to find
            throw error
        }
        s.activeSegment = number
        s.activeFD = fd
        s.activeSize = segmentMagic.count
    }
}
