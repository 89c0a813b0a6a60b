#if canImport(Glibc)
import Glibc
#endif

/// Gives back the code pages that starting up touched and the running process no longer uses.
///
/// Design: the kernel maps program and library code from the page cache, 64 KiB around each
/// fault ("fault-around"), and starting the Swift runtime, parsing the config and building the
/// pipelines fault in megabytes of code that an idle or steady agent never runs again. Once the
/// daemon is up, every executable, file-backed, private mapping (`r-xp` in /proc/self/maps) is
/// advised `MADV_RANDOM` (later faults map one page, not sixteen) and `MADV_DONTNEED` (its pages
/// leave this process's page tables; the page cache keeps them, so running that code again is a
/// minor fault, not a disk read). Code is never written (no text relocations on x86-64 Linux),
/// so dropping these pages loses nothing; writable and read-only data mappings are never touched
/// (read-only data after relocation holds written pages that must stay).
public enum CodePages {
    /// A mapping from /proc/self/maps: its address range, permissions and path.
    public struct Mapping: Equatable, Sendable {
        public var start: UInt
        public var end: UInt
        public var permissions: String
        public var path: String
    }

    /// The mappings `release` advises: executable, private, backed by a file (not the vDSO).
    public static func releasable(_ maps: String) -> [Mapping] {
        maps.split(separator: "\n").compactMap(parse).filter {
            $0.permissions == "r-xp" && $0.path.hasPrefix("/") && $0.end > $0.start
        }
    }

    /// Releases the code pages of this process; returns how many bytes of mappings were advised.
    @discardableResult
    public static func release() -> UInt {
        guard let bytes = try? Sys.readFile("/proc/self/maps") else { return 0 }
        var advised: UInt = 0
        for mapping in releasable(String(decoding: bytes, as: UTF8.self)) {
            guard let address = UnsafeMutableRawPointer(bitPattern: mapping.start) else { continue }
            let length = Int(mapping.end - mapping.start)
            _ = madvise(address, length, MADV_RANDOM)
            if madvise(address, length, MADV_DONTNEED) == 0 { advised += mapping.end - mapping.start }
        }
        return advised
    }

    /// `start-end perms offset dev inode path`.
    static func parse(_ line: Substring) -> Mapping? {
        let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        guard fields.count >= 5 else { return nil }
        let range = fields[0].split(separator: "-")
        guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16) else { return nil }
        let path = fields.count == 6 ? String(fields[5].drop { $0 == " " }) : ""
        return Mapping(start: start, end: end, permissions: String(fields[1]), path: path)
    }
}
