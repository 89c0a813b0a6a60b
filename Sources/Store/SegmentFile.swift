#if canImport(Glibc)
import Glibc
#endif
import SystemIO

/// An open data or index file of the store.
///
/// Design: the descriptor is closed in `deinit`, when the last holder lets go. Holders are the
/// writer (active segment), the catalog (every live segment) and queries (a snapshot of the
/// catalog). So a segment that retention deletes while a query reads it stays readable through
/// the open descriptor until that query is done; its disk space is freed then.
/// All methods are thread-safe (positional I/O only; no shared offset).
final class SegmentFile: Sendable {
    let fd: Int32
    let path: String

    /// Opens `path` with `flags` (`O_CLOEXEC` is added).
    init(path: String, flags: Int32) throws(StoreError) {
        self.fd = try StoreError.io { () throws(SystemError) in try Sys.open(path, flags) }
        self.path = path
    }

    deinit { Sys.close(fd) }

    /// Up to `count` bytes at `offset` (fewer only at end of file).
    func read(at offset: UInt64, count: Int) throws(StoreError) -> [UInt8] {
        try StoreError.io { () throws(SystemError) in try Sys.pread(fd, count: count, at: offset, path: path) }
    }

    func write(_ bytes: [UInt8], at offset: UInt64) throws(StoreError) {
        try bytes.withBytes { (raw) throws(StoreError) in
            try StoreError.io { () throws(SystemError) in try Sys.pwrite(fd, raw, at: offset, path: path) }
        }
    }

    /// fdatasync: the data and the file size (enough to read it back after a crash).
    func sync() throws(StoreError) {
        try StoreError.io { () throws(SystemError) in try Sys.fdatasync(fd, path: path) }
    }

    func truncate(to length: UInt64) throws(StoreError) {
        try StoreError.io { () throws(SystemError) in try Sys.ftruncate(fd, length, path: path) }
    }

    func size() throws(StoreError) -> UInt64 {
        UInt64(max(0, try StoreError.io { () throws(SystemError) in try Sys.fstat(fd, path: path) }.size))
    }

    func modified() throws(StoreError) -> UInt64 {
        try StoreError.io { () throws(SystemError) in try Sys.fstat(fd, path: path) }.modified
    }
}

/// A whole file mapped read-only (index files, and segments while recovery scans them).
///
/// `@unchecked Sendable`: the mapping is `PROT_READ` and never changes while mapped; it is
/// unmapped only in `deinit`, when no holder is left, so every thread may read it freely.
/// (Store files mapped here are never truncated while mapped: index files are immutable, and
/// recovery truncates a segment only after dropping its scan mapping.)
final class MappedFile: @unchecked Sendable {
    private let base: UnsafeRawPointer?
    let count: Int
    let path: String

    init(_ file: SegmentFile, length: Int) throws(StoreError) {
        path = file.path
        count = length
        base = length == 0 ? nil : try StoreError.io { () throws(SystemError) in try Sys.mapReadOnly(file.fd, length: length, path: file.path) }
    }

    deinit {
        if let base { Sys.unmap(base, length: count) }
    }

    /// Runs `body` on the mapped bytes, keeping the mapping alive meanwhile.
    func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        defer { withExtendedLifetime(self) {} }
        return try body(UnsafeRawBufferPointer(start: base, count: count))
    }
}
