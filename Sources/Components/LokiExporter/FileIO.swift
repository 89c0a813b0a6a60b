import Glibc

/// The disk queue's syscalls: each retries EINTR and throws an error naming the call and path.
enum FileIO {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func check(_ result: Int, _ call: String, _ path: String) throws(Failure) {
        if result < 0 { throw Failure(description: "\(call) \(path): \(String(cString: strerror(errno)))") }
    }

    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws(Failure) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { try check(-1, "open", path) }
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws(FileIO.Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            try check(n, "write", path)
            offset += n
        }
    }

    /// Reads up to `count` bytes at `offset`; fewer only at the end of the file.
    static func read(_ fd: Int32, count: Int, at offset: Int, _ path: String) throws(Failure) -> [UInt8] {
        var failure: Failure?
        let out = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let n = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 && errno == EINTR { continue }
                do throws(Failure) { try check(n, "pread", path) } catch { failure = error; break }
                if n == 0 { break }
                done += n
            }
            initialized = done   // only bytes actually read; nothing is zero-filled first
        }
        if let failure { throw failure }
        return out
    }

    static func fsync(_ fd: Int32, _ path: String) throws(Failure) {
        while Glibc.fsync(fd) != 0 {
            if errno != EINTR { try check(-1, "fsync", path) }
        }
    }

    static func size(_ fd: Int32, _ path: String) throws(Failure) -> Int {
        var st = stat()
        try check(Int(fstat(fd, &st)), "fstat", path)
        return Int(st.st_size)
    }

    static func truncate(_ fd: Int32, _ length: Int, _ path: String) throws(Failure) {
        try check(Int(ftruncate(fd, off_t(length))), "ftruncate", path)
    }

    static func fsyncDirectory(_ path: String) throws(Failure) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path)
    }

    static func makeDirectory(_ path: String) throws(Failure) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { try check(-1, "mkdir", prefix) }
        }
    }

    static func list(_ directory: String) throws(Failure) -> [String] {
        guard let dir = opendir(directory) else { try check(-1, "opendir", directory); return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
