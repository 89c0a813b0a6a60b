import Buffers
import CShims
import SystemIO
#if canImport(Glibc)
import Glibc
#endif

/// What the monitor reads and does to the process's memory: the resident set size from
/// `/proc/self/statm` (resident pages times the page size); the pools' spare buffers and
/// glibc's `malloc_trim(0)`.
public enum ProcessMemory {
    /// Resident set size in bytes; 0 when `/proc/self/statm` cannot be read.
    public static func residentBytes(root: String = "") -> UInt64 {
        guard let text = Sys.readText(root + "/proc/self/statm") else { return 0 }
        return residentBytes(statm: text, pageSize: pageSize)
    }

    /// The second field of a statm line (resident pages) times `pageSize`.
    static func residentBytes(statm: String, pageSize: UInt64) -> UInt64 {
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = UInt64(fields[1].filter { $0 != "\n" }) else { return 0 }
        return pages * pageSize
    }

    static let pageSize = UInt64(max(sysconf(Int32(_SC_PAGESIZE)), 1))

    /// Gives free memory back to the system (Swift has no garbage collector to force): first
    /// the spare buffers every pool of the process keeps for the next request, batch or block
    /// (`PayloadPool.releaseEverywhere`: the shared pool holds up to 12 MiB while data flows,
    /// the store up to three block buffers), then what malloc keeps in its arenas
    /// (`malloc_trim`). True when malloc released some.
    @discardableResult
    static func trim() -> Bool {
        PayloadPool.releaseEverywhere()
        return cshims_malloc_trim(0) == 1
    }
}

extension Sys {
    /// A procfs or cgroupfs file as text; nil when it cannot be read.
    static func readText(_ path: String) -> String? {
        guard let bytes = try? Sys.readFile(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
