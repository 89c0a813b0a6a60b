#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import SystemIO
import Transport

/// inotify for the tailer: events in the directories that hold (or may come to hold) tailed
/// files make it read at once instead of at the next poll. Polling stays the source of truth
/// (it runs every `poll_interval` regardless), so a missed or overflowed event only costs
/// latency, and file systems without inotify (NFS, some overlay setups) still work.
///
/// Watched directories: the wildcard-free directory prefix of every include pattern, plus the
/// directory of every file found (added after each discovery; never removed while running, the
/// kernel drops a watch itself when its directory goes). Events for names matching no include
/// pattern (the checkpoint files, unrelated logs) are ignored.
///
/// Confined to the tailer's queue; the reactor calls `onReadable` there.
final class DirectoryWatcher {
    struct Events {
        /// Some tailed file may have new data.
        var modified = false
        /// A file appeared, moved or vanished, or events were lost: look for files again.
        var structural = false
    }

    private let fd: Int32
    private let patterns: [String]
    private var watch: ReadabilityWatch?
    private var directories: [Int32: String] = [:]
    private var watched: Set<String> = []
    private var refused: Set<String> = []
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)
    private static let mask = UInt32(IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_DELETE_SELF)

    /// Nil when inotify is unavailable (then the tailer only polls).
    init?(patterns: [String], queue: DispatchQueue, onReadable: @escaping @Sendable () -> Void) {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        self.patterns = patterns
        do {
            watch = try ReadabilityWatch(fd: fd, queue: queue, handler: onReadable)
        } catch {
            Sys.close(fd)
            return nil
        }
    }

    /// Stops watching and closes the inotify instance.
    func close() {
        watch?.cancel()
        watch = nil
        Sys.close(fd)
    }

    /// The wildcard-free directory prefix of a glob pattern ("." for a relative pattern without one).
    static func staticDirectory(_ pattern: String) -> String {
        var parts: [Substring] = []
        let components = pattern.split(separator: "/", omittingEmptySubsequences: false)
        for part in components.dropLast() {
            if part.contains(where: { "*?[".contains($0) }) { break }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        if joined.isEmpty { return pattern.hasPrefix("/") ? "/" : "." }
        return joined
    }

    /// Watches `directory` (once; a directory the kernel refuses is not asked again).
    /// Returns an error message the first time one cannot be watched.
    func add(_ directory: String) -> String? {
        let dir = directory.isEmpty ? "." : directory
        guard !watched.contains(dir), !refused.contains(dir) else { return nil }
        let wd = inotify_add_watch(fd, dir, Self.mask)
        guard wd >= 0 else {
            let e = errno
            // A directory that does not exist yet is normal: asked again after the next
            // discovery. Any other refusal (no watches left, permissions) is final.
            if e == ENOENT { return nil }
            refused.insert(dir)
            return "cannot watch \(dir) with inotify (\(SystemError.message(e))); it is polled"
        }
        directories[wd] = dir
        watched.insert(dir)
        return nil
    }

    /// glob(3) semantics for the include patterns, with `**` also matching no directory at all
    /// (`a/**/x` matches `a/x`), as `PathGlob.glob` does.
    static func matches(_ pattern: String, _ path: String) -> Bool {
        guard pattern.contains("**") else { return fnmatch(pattern, path, FNM_PATHNAME) == 0 }
        return fnmatch(pattern, path, 0) == 0
            || fnmatch(pattern.replacing("**/", with: ""), path, 0) == 0
    }

    /// Reads every pending event and re-arms; says what they mean for the tailer.
    func drain() -> Events {
        var out = Events()
        while true {
            // Nothing pending (nil) or a failed read: the next event or poll comes anyway.
            guard let n = try? buffer.withUnsafeMutableBytes({ try Sys.read(fd, into: $0, path: "inotify") }), n > 0 else { break }
            buffer.withUnsafeBytes { raw in
                var offset = 0
                while offset + 16 <= n {
                    let wd = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    let nameBytes = UnsafeRawBufferPointer(rebasing: raw[(offset + 16)..<min(offset + 16 + length, n)])
                    offset += 16 + length
                    classify(wd: wd, mask: mask, name: nameBytes, into: &out)
                }
            }
        }
        watch?.arm()
        return out
    }

    private func classify(wd: Int32, mask: UInt32, name: UnsafeRawBufferPointer, into out: inout Events) {
        if mask & UInt32(IN_Q_OVERFLOW) != 0 {
            out.structural = true
            return
        }
        if mask & UInt32(IN_IGNORED) != 0 || mask & UInt32(IN_DELETE_SELF) != 0 {
            if let dir = directories.removeValue(forKey: wd) { watched.remove(dir) }
            out.structural = true
            return
        }
        guard let dir = directories[wd] else { return }
        let end = name.firstIndex(of: 0) ?? name.endIndex
        let file = String(decoding: UnsafeRawBufferPointer(rebasing: name[..<end]), as: UTF8.self)
        let path = dir == "." && !patterns.contains(where: { $0.hasPrefix("./") }) ? file : dir + "/" + file
        let isDirectory = mask & UInt32(IN_ISDIR) != 0
        if isDirectory {
            // A new directory may hold files matching a pattern with wildcards in its directories.
            if mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 { out.structural = true }
            return
        }
        // `**` spans directories, so such patterns are matched without FNM_PATHNAME.
        guard patterns.contains(where: { Self.matches($0, path) }) else { return }
        if mask & UInt32(IN_MODIFY | IN_CLOSE_WRITE) != 0 { out.modified = true }
        if mask & UInt32(IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE) != 0 { out.structural = true }
    }
}
