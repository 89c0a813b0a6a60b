import Glibc
import Synchronization

/// Whole-file replacement that a crash cannot tear: the checkpoint of the filelog receiver,
/// the Loki disk queue's cursor and the store's segment indexes are written this way.
///
/// Design: the new content goes to a temporary file beside the target,
/// `<path>.tmp.<process token>.<n>`, which is fsynced, renamed over the target, and then the
/// directory is fsynced, so after a crash the path holds either the old or the new content,
/// whole. Each write has a temporary name of its own (two writers of one path, such as an old
/// component finishing while its successor runs, never write into each other's file), and a
/// failed write removes its temporary file. A crash between creating and renaming leaves one
/// behind: `removeLeftovers(of:)` deletes those of other processes when the owner opens.
public enum AtomicFile {
    /// Marks this process's temporary files (random: in a container every run is pid 1).
    public static let processToken = String(UInt64.random(in: 1...UInt64.max), radix: 36)

    /// Numbers this process's temporary files.
    private static let sequence = Atomic<UInt64>(0)

    /// Replaces `path` with `bytes`: temporary file, fsync, rename, fsync of the directory.
    /// On failure the old content (if any) is still there and no temporary file is left.
    public static func replace(_ path: String, with bytes: [UInt8]) throws(SystemError) {
        let temp = path + ".tmp.\(processToken).\(sequence.wrappingAdd(1, ordering: .relaxed).oldValue)"
        let fd = try Sys.open(temp, O_WRONLY | O_CREAT | O_TRUNC)
        var renamed = false
        defer { if !renamed { _ = Glibc.unlink(temp) } }
        do throws(SystemError) {
            try Sys.write(fd, bytes, path: temp)
            try Sys.fsync(fd, path: temp)
        } catch {
            Sys.close(fd)
            throw error
        }
        Sys.close(fd)
        try Sys.rename(temp, path)
        renamed = true
        try Sys.fsyncDirectory(directory(of: path))
    }

    /// Deletes the temporary files that replacements of `path` by other processes left behind
    /// (this process's may belong to a write under way); returns their paths.
    @discardableResult
    public static func removeLeftovers(of path: String) -> [String] {
        let directory = directory(of: path)
        let base = String(path.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
        let mine = base + ".tmp.\(processToken)."
        guard let names = try? Sys.list(directory) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(base + ".tmp.") && !name.hasPrefix(mine) {
            let leftover = !path.contains("/") ? name : directory == "/" ? "/" + name : directory + "/" + name
            if (try? Sys.unlink(leftover)) != nil { removed.append(leftover) }
        }
        return removed.sorted()
    }

    /// The directory part of `path` ("." for a bare name, "/" for a file at the root).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
