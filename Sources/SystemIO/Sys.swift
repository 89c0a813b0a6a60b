import Glibc

/// The one place where the collector talks to the kernel about files (sockets are in
/// `Sys+Socket.swift`).
///
/// Every call retries `EINTR` and turns any other failure into a ``SystemError`` naming the
/// call, the path and `errno`. Positional reads and writes loop until the whole range is done
/// (short counts are normal for `pread`/`pwrite`). Every descriptor is opened close-on-exec.
/// All functions are thread-safe: they only touch the descriptors and paths they are given.
public enum Sys {
    /// Runs `body` until it does not fail with `EINTR`. A result of -1 throws, naming `call`
    /// and `path`.
    @discardableResult
    public static func call<R: BinaryInteger>(_ call: String, path: String? = nil, _ body: () -> R) throws(SystemError) -> R {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = errno
            if code == EINTR { continue }
            throw SystemError(call: call, path: path, errno: code)
        }
    }

    /// Like ``call(_:path:_:)`` but returns `nil` when a non-blocking descriptor is not ready
    /// (`EAGAIN`/`EWOULDBLOCK`): "try again later" is the normal outcome there.
    public static func nonBlocking<R: BinaryInteger>(_ call: String, path: String? = nil, _ body: () -> R) throws(SystemError) -> R? {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return nil }
            throw SystemError(call: call, path: path, errno: code)
        }
    }

    /// Opens `path` with `flags` plus `O_CLOEXEC`.
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(SystemError) -> Int32 {
        try call("open", path: path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// Closes a descriptor exactly once. Deliberately *not* retried on `EINTR`: Linux releases
    /// the descriptor even when `close` is interrupted, and retrying could close a number that
    /// another thread has just been given. Errors are ignored for the same reason.
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Reads into `buffer` from the descriptor's offset. The byte count (0 at end of input),
    /// or `nil` when a non-blocking descriptor has nothing yet.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String? = nil) throws(SystemError) -> Int? {
        try nonBlocking("read", path: path) { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// One `pread` of up to `buffer.count` bytes at `offset`; 0 at end of file.
    public static func preadOnce(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String) throws(SystemError) -> Int {
        try call("pread", path: path) { Glibc.pread(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// Reads `buffer.count` bytes at `offset`; returns fewer only at end of file.
    public static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, path: String) throws(SystemError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = try call("pread", path: path) {
                Glibc.pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Up to `count` bytes at `offset` (fewer only at end of file), without zero-filling first.
    public static func pread(_ fd: Int32, count: Int, at offset: UInt64, path: String) throws(SystemError) -> [UInt8] {
        var failure: SystemError?
        let out = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(SystemError) {
                initialized = try pread(fd, UnsafeMutableRawBufferPointer(buffer), at: offset, path: path)
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return out
    }

    /// Writes all of `bytes` at `offset`.
    public static func pwrite(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64, path: String) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            done += try call("pwrite", path: path) {
                Glibc.pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            }
        }
    }

    /// Writes all of `bytes` at the descriptor's offset (the end, with `O_APPEND`).
    public static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            done += try call("write", path: path) { Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done) }
        }
    }

    /// ``write(_:_:path:)`` for an array.
    public static func write(_ fd: Int32, _ bytes: [UInt8], path: String) throws(SystemError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(SystemError) in try write(fd, raw, path: path) } }.get()
    }

    public static func fsync(_ fd: Int32, path: String) throws(SystemError) {
        try call("fsync", path: path) { Glibc.fsync(fd) }
    }

    /// The data and the file size (enough to read it back after a crash), not other metadata.
    public static func fdatasync(_ fd: Int32, path: String) throws(SystemError) {
        try call("fdatasync", path: path) { Glibc.fdatasync(fd) }
    }

    public static func ftruncate(_ fd: Int32, _ length: UInt64, path: String) throws(SystemError) {
        try call("ftruncate", path: path) { Glibc.ftruncate(fd, off_t(length)) }
    }

    /// What `fstat` says about an open file.
    public static func fstat(_ fd: Int32, path: String) throws(SystemError) -> FileStatus {
        var st = Glibc.stat()
        try call("fstat", path: path) { Glibc.fstat(fd, &st) }
        return FileStatus(st)
    }

    /// What `stat` says about `path` (symbolic links followed).
    public static func stat(_ path: String) throws(SystemError) -> FileStatus {
        var st = Glibc.stat()
        try call("stat", path: path) { cStat(path, &st) }
        return FileStatus(st)
    }

    /// What `lstat` says about `path` itself (a symbolic link is not followed).
    public static func lstat(_ path: String) throws(SystemError) -> FileStatus {
        var st = Glibc.stat()
        try call("lstat", path: path) { Glibc.lstat(path, &st) }
        return FileStatus(st)
    }

    /// Tells the kernel the file's pages in `from..<to` will not be read again
    /// (`POSIX_FADV_DONTNEED`): clean pages leave the page cache. Advice only, so it reports
    /// nothing; false when the kernel refused it.
    @discardableResult
    public static func dropCachedPages(_ fd: Int32, from: Int64, to: Int64) -> Bool {
        guard to > from else { return true }
        return posix_fadvise(fd, off_t(from), off_t(to - from), POSIX_FADV_DONTNEED) == 0
    }

    /// The whole file, or nil when it does not exist.
    public static func readFile(_ path: String) throws(SystemError) -> [UInt8]? {
        let fd: Int32
        do throws(SystemError) { fd = try open(path, O_RDONLY) } catch {
            if error.isMissing { return nil }
            throw error
        }
        defer { close(fd) }
        var out: [UInt8] = []
        while true {
            let chunk = try pread(fd, count: 65_536, at: UInt64(out.count), path: path)
            out += chunk
            if chunk.count < 65_536 { return out }
        }
    }

    public static func rename(_ from: String, _ to: String) throws(SystemError) {
        try call("rename", path: "\(from) -> \(to)") { Glibc.rename(from, to) }
    }

    public static func unlink(_ path: String) throws(SystemError) {
        try call("unlink", path: path) { Glibc.unlink(path) }
    }

    /// Creates `path` and its missing parents (mode 0755); an existing directory is fine.
    public static func makeDirectories(_ path: String) throws(SystemError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            while Glibc.mkdir(prefix, 0o755) != 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EEXIST { break }
                throw SystemError(call: "mkdir", path: prefix, errno: code)
            }
            prefix += "/"
        }
    }

    /// The names in a directory, without `.` and `..`, in the order the directory gives them.
    public static func list(_ path: String) throws(SystemError) -> [String] {
        try entries(path).map(\.name)
    }

    /// The entries of a directory (name and whether it says it is a directory), without `.`
    /// and `..`. `isDirectory` is nil where the file system does not say (ask `lstat`).
    public static func entries(_ path: String) throws(SystemError) -> [(name: String, isDirectory: Bool?)] {
        guard let dir = opendir(path) else { throw SystemError(call: "opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var out: [(name: String, isDirectory: Bool?)] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 && errno != EINTR { throw SystemError(call: "readdir", path: path, errno: errno) }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name != ".", name != ".." else { continue }
            let type = entry.pointee.d_type
            out.append((name, type == UInt8(DT_UNKNOWN) ? nil : type == UInt8(DT_DIR)))
        }
        return out
    }

    /// Makes the directory's entries (created, renamed, removed files) durable.
    public static func fsyncDirectory(_ path: String) throws(SystemError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    /// `path` with symbolic links resolved (realpath(3)), or nil.
    public static func realPath(_ path: String) -> String? {
        guard let resolved = Glibc.realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Maps `length` bytes of `fd` read-only and shared.
    public static func mapReadOnly(_ fd: Int32, length: Int, path: String) throws(SystemError) -> UnsafeRawPointer {
        while true {
            let p = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0)
            if let p, p != UnsafeMutableRawPointer(bitPattern: -1) { return UnsafeRawPointer(p) }
            let code = errno
            if code == EINTR { continue }
            throw SystemError(call: "mmap", path: path, errno: code)
        }
    }

    public static func unmap(_ pointer: UnsafeRawPointer, length: Int) {
        _ = munmap(UnsafeMutableRawPointer(mutating: pointer), length)
    }

    /// Wall-clock time in nanoseconds since the Unix epoch.
    public static func wallClockNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Monotonic time in nanoseconds (for intervals; its origin means nothing).
    public static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// `stat(2)` under a name that does not collide with the `stat` struct.
private func cStat(_ path: String, _ buffer: UnsafeMutablePointer<Glibc.stat>) -> Int32 {
    stat(path, buffer)
}

/// What `stat`/`fstat` tell about a file.
public struct FileStatus: Sendable, Hashable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    /// Last modification, unix ns.
    public var modified: UInt64
    public var isRegular: Bool
    public var isDirectory: Bool

    init(_ st: Glibc.stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        modified = UInt64(max(0, st.st_mtim.tv_sec)) * 1_000_000_000 + UInt64(max(0, st.st_mtim.tv_nsec))
        isRegular = (st.st_mode & S_IFMT) == S_IFREG
        isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
    }
}
