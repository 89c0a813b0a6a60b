#if canImport(Glibc)
import Glibc
#endif

/// The one place where the store (and the tail sampler's span hold, which shares its file
/// formats) talks to the kernel.
///
/// Every call retries `EINTR` and turns any other failure into a ``StoreError`` that names the
/// call and the path. Reads and writes loop until the whole range is done (short counts are
/// normal for `pread`/`pwrite`). All functions are thread-safe: they only touch the
/// descriptors and paths they are given.
public enum Sys {
    /// Runs `body` until it does not fail with `EINTR`. A result of -1 throws, naming `call`
    /// and `path`.
    @discardableResult
    public static func call<R: BinaryInteger>(_ call: String, _ path: String, _ body: () -> R) throws(StoreError) -> R {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = errno
            if code == EINTR { continue }
            throw StoreError.systemCall(call, path: path, errno: code)
        }
    }

    public static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(StoreError) -> Int32 {
        try call("open", path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// Closes exactly once; not retried on `EINTR` (Linux releases the descriptor anyway).
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Reads `buffer.count` bytes at `offset`; returns fewer only at end of file.
    public static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, path: String) throws(StoreError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = try call("pread", path) {
                Glibc.pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `bytes` at `offset`.
    public static func pwrite(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64, path: String) throws(StoreError) {
        var done = 0
        while done < bytes.count {
            let n = try call("pwrite", path) {
                Glibc.pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            }
            done += n
        }
    }

    public static func fsync(_ fd: Int32, path: String) throws(StoreError) {
        try call("fsync", path) { Glibc.fsync(fd) }
    }

    public static func fdatasync(_ fd: Int32, path: String) throws(StoreError) {
        try call("fdatasync", path) { Glibc.fdatasync(fd) }
    }

    public static func ftruncate(_ fd: Int32, _ length: UInt64, path: String) throws(StoreError) {
        try call("ftruncate", path) { Glibc.ftruncate(fd, off_t(length)) }
    }

    /// Size and modification time (unix ns) of an open file.
    public static func fstat(_ fd: Int32, path: String) throws(StoreError) -> (size: UInt64, modified: UInt64) {
        var st = stat()
        try call("fstat", path) { Glibc.fstat(fd, &st) }
        let modified = UInt64(max(0, st.st_mtim.tv_sec)) * 1_000_000_000 + UInt64(max(0, st.st_mtim.tv_nsec))
        return (UInt64(max(0, st.st_size)), modified)
    }

    public static func rename(_ from: String, _ to: String) throws(StoreError) {
        try call("rename", "\(from) -> \(to)") { Glibc.rename(from, to) }
    }

    public static func unlink(_ path: String) throws(StoreError) {
        try call("unlink", path) { Glibc.unlink(path) }
    }

    /// Creates `path` and its missing parents (mode 0755); an existing directory is fine.
    public static func makeDirectories(_ path: String) throws(StoreError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if Glibc.mkdir(prefix, 0o755) != 0 {
                let code = errno
                if code != EEXIST && code != EINTR { throw StoreError.systemCall("mkdir", path: prefix, errno: code) }
            }
            prefix += "/"
        }
    }

    /// The names in a directory, without `.` and `..`.
    public static func list(_ path: String) throws(StoreError) -> [String] {
        guard let dir = opendir(path) else { throw StoreError.systemCall("opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 && errno != EINTR { throw StoreError.systemCall("readdir", path: path, errno: errno) }
                break
            }
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Makes the directory's entries (created, renamed, removed files) durable.
    public static func fsyncDirectory(_ path: String) throws(StoreError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    /// Takes an exclusive `flock` on `fd` without waiting; false when another descriptor holds
    /// it. The lock goes with the descriptor.
    public static func lockExclusively(_ fd: Int32, path: String) throws(StoreError) -> Bool {
        while true {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
            let code = errno
            if code == EINTR { continue }
            if code == EWOULDBLOCK { return false }
            throw StoreError.systemCall("flock", path: path, errno: code)
        }
    }

    /// Maps `length` bytes of `fd` read-only and shared.
    public static func mapReadOnly(_ fd: Int32, length: Int, path: String) throws(StoreError) -> UnsafeRawPointer {
        while true {
            let p = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0)
            if let p, p != UnsafeMutableRawPointer(bitPattern: -1) { return UnsafeRawPointer(p) }
            let code = errno
            if code == EINTR { continue }
            throw StoreError.systemCall("mmap", path: path, errno: code)
        }
    }

    public static func unmap(_ pointer: UnsafeRawPointer, length: Int) {
        _ = munmap(UnsafeMutableRawPointer(mutating: pointer), length)
    }

    /// Wall-clock time in unix ns (the default store clock).
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
