import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Numbers the temporary files of `FileSystem.writeAtomically`.
private let tempSequence = Atomic<UInt64>(0)

/// Marks this process's temporary files (random: in a container every run is pid 1).
let processToken = String(UInt64.random(in: 1...UInt64.max), radix: 36)

/// An error from a system call, naming the call, the path and errno.
struct SystemCallError: Error, CustomStringConvertible {
    var call: String
    var path: String
    var errno: Int32
    var description: String { "\(call)(\(path)): \(String(cString: strerror(errno)))" }
}

/// `stat(2)` under a name that does not collide with the `stat` struct.
private func cStat(_ path: String, _ buffer: UnsafeMutablePointer<Glibc.stat>) -> Int32 {
    stat(path, buffer)
}

/// What `stat` tells the tailer about a file.
struct FileInfo: Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var isRegular: Bool
}

/// Every syscall the tailer makes, retrying EINTR and throwing errors that name the call.
enum FileSystem {
    static func stat(_ path: String) throws(SystemCallError) -> FileInfo {
        var st = Glibc.stat()
        guard cStat(path, &st) == 0 else { throw SystemCallError(call: "stat", path: path, errno: errno) }
        return info(st)
    }

    static func fstat(_ fd: Int32, path: String) throws(SystemCallError) -> FileInfo {
        var st = Glibc.stat()
        guard Glibc.fstat(fd, &st) == 0 else { throw SystemCallError(call: "fstat", path: path, errno: errno) }
        return info(st)
    }

    private static func info(_ st: Glibc.stat) -> FileInfo {
        FileInfo(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                 isRegular: (st.st_mode & S_IFMT) == S_IFREG)
    }

    static func openRead(_ path: String) throws(SystemCallError) -> Int32 {
        while true {
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            if fd >= 0 { return fd }
            if errno != EINTR { throw SystemCallError(call: "open", path: path, errno: errno) }
        }
    }

    static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    /// Reads up to `buffer.count` bytes at `offset`; 0 at end of file.
    static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, offset: Int64, path: String) throws(SystemCallError) -> Int {
        while true {
            let n = Glibc.pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
            if n >= 0 { return n }
            if errno != EINTR { throw SystemCallError(call: "pread", path: path, errno: errno) }
        }
    }

    /// The first `count` bytes of the file (fewer if it is shorter).
    static func prefix(_ fd: Int32, count: Int, path: String) throws(SystemCallError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = try out.withUnsafeMutableBytes { buf in
                Result { () throws(SystemCallError) in
                    try pread(fd, UnsafeMutableRawBufferPointer(rebasing: buf[filled...]), offset: Int64(filled), path: path)
                }
            }.get()
            if n == 0 { break }
            filled += n
        }
        out.removeLast(count - filled)
        return out
    }

    /// `path` with symbolic links resolved (realpath(3)), or nil.
    static func realPath(_ path: String) -> String? {
        guard let resolved = Glibc.realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Whether the file still starts with `fingerprint` (false also when it cannot be read).
    /// Checked after every read, so without allocating: the bytes go to a temporary buffer.
    static func startsWith(_ fd: Int32, _ fingerprint: [UInt8]) -> Bool {
        let count = fingerprint.count
        return withUnsafeTemporaryAllocation(byteCount: count, alignment: 8) { buffer in
            var filled = 0
            while filled < count {
                let n = Glibc.pread(fd, buffer.baseAddress! + filled, count - filled, off_t(filled))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                filled += n
            }
            return fingerprint.withUnsafeBytes { memcmp($0.baseAddress!, buffer.baseAddress!, count) == 0 }
        }
    }

    /// Paths matching the glob(3) pattern (no `**`), unsorted.
    /// glob(3), plus `**` as a whole path component: any number of directories (including
    /// none), as in the OTel Collector's doublestar globs. Symbolic links to directories are
    /// not followed by `**` (no cycles), and it descends at most 16 levels.
    static func glob(_ pattern: String) -> [String] {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: false)
        guard let star = parts.firstIndex(of: "**") else { return cGlob(pattern) }
        let base = parts[..<star].joined(separator: "/")
        let rest = parts[(star + 1)...].joined(separator: "/")
        let bases = base.isEmpty ? (pattern.hasPrefix("/") ? ["/"] : ["."]) : cGlob(base)
        var out: [String] = []
        var seen = Set<String>()
        for dir in bases {
            for sub in descendants(dir, depth: 16) {
                // Relative patterns give relative paths, as glob(3) does ("a/x.log", not "./a/x.log").
                let prefix = if sub == "." { "" }
                    else if base.isEmpty && sub.hasPrefix("./") { String(sub.dropFirst(2)) + "/" }
                    else if sub == "/" { "/" }
                    else { sub + "/" }
                for path in glob(prefix + rest) where seen.insert(path).inserted { out.append(path) }
            }
        }
        return out
    }

    private static func cGlob(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return [] }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] { out.append(String(cString: p)) }
        }
        return out
    }

    /// `dir` and every directory below it (not through symbolic links), depth-first.
    private static func descendants(_ dir: String, depth: Int) -> [String] {
        var out = [dir]
        guard depth > 0, let handle = opendir(dir) else { return out }
        defer { closedir(handle) }
        var children: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name != ".", name != ".." else { continue }
            let path = dir == "/" ? "/" + name : dir + "/" + name
            var isDirectory = entry.pointee.d_type == UInt8(DT_DIR)
            if entry.pointee.d_type == UInt8(DT_UNKNOWN) {   // some file systems do not say: ask
                var st = Glibc.stat()
                isDirectory = lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
            }
            if isDirectory { children.append(path) }
        }
        for child in children.sorted() { out += descendants(child, depth: depth - 1) }
        return out
    }

    static func matches(_ pattern: String, _ path: String) -> Bool {
        fnmatch(pattern, path, 0) == 0
    }

    static func makeDirectories(_ path: String) throws(SystemCallError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw SystemCallError(call: "mkdir", path: current, errno: errno)
            }
        }
    }

    /// The whole file, or nil when it does not exist.
    static func readAll(_ path: String) throws(SystemCallError) -> [UInt8]? {
        let fd: Int32
        do { fd = try openRead(path) } catch { if error.errno == ENOENT { return nil }; throw error }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = try chunk.withUnsafeMutableBytes { b in
                Result { () throws(SystemCallError) in try pread(fd, b, offset: Int64(out.count), path: path) }
            }.get()
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }

    /// Replaces `path` atomically: write a temp file beside it, fsync, rename, fsync the directory.
    static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(SystemCallError) {
        // A name of its own per write: two writers of one path (an old receiver finishing while
        // its successor runs) must not write into each other's temporary file.
        let temp = path + ".tmp.\(processToken).\(tempSequence.wrappingAdd(1, ordering: .relaxed).oldValue)"
        let fd = Glibc.open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemCallError(call: "open", path: temp, errno: errno) }
        var renamed = false
        defer { if !renamed { _ = unlink(temp) } }   // a failed write leaves nothing behind
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                Glibc.close(fd)
                throw SystemCallError(call: "write", path: temp, errno: e)
            }
            written += n
        }
        if fsync(fd) != 0 { let e = errno; Glibc.close(fd); throw SystemCallError(call: "fsync", path: temp, errno: e) }
        Glibc.close(fd)
        guard rename(temp, path) == 0 else { throw SystemCallError(call: "rename", path: path, errno: errno) }
        renamed = true
        let dir = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let dfd = Glibc.open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); Glibc.close(dfd) }
    }

    /// Wall-clock time in nanoseconds since the Unix epoch.
    static func nowUnixNano() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func monotonicNano() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
