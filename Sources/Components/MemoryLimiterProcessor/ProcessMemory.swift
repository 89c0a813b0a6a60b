import CShims
#if canImport(Glibc)
import Glibc
#endif

/// What the monitor reads and does to the process's memory: the resident set size from
/// `/proc/self/statm` (resident pages times the page size) and glibc's `malloc_trim(0)`.
public enum ProcessMemory {
    /// Resident set size in bytes; 0 when `/proc/self/statm` cannot be read.
    public static func residentBytes(root: String = "") -> UInt64 {
        guard let text = SmallFile.read(root + "/proc/self/statm") else { return 0 }
        return residentBytes(statm: text, pageSize: pageSize)
    }

    /// The second field of a statm line (resident pages) times `pageSize`.
    static func residentBytes(statm: String, pageSize: UInt64) -> UInt64 {
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = UInt64(fields[1].filter { $0 != "\n" }) else { return 0 }
        return pages * pageSize
    }

    static let pageSize = UInt64(max(sysconf(Int32(_SC_PAGESIZE)), 1))

    /// Gives free heap memory back to the system (Swift has no garbage collector to force; freed
    /// memory stays in malloc's arenas until trimmed). True when some was released.
    @discardableResult
    static func trim() -> Bool {
        cshims_malloc_trim(0) == 1
    }
}

/// Reads a small file (procfs, cgroupfs) whole, retrying EINTR. At most 64 KiB.
enum SmallFile {
    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 65_536 {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return nil }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
