import Glibc
import SystemIO

/// One file being tailed, owned by the tailer's queue.
///
/// Identity: `fingerprint` (the first `fingerprint_size` bytes seen) with `device`/`inode` as
/// a hint. While the descriptor is open the inode cannot be reused, so a matching inode is the
/// same file; across restarts the fingerprint decides. Offsets: `readOffset` is how far bytes
/// were read; `committed` how far records were acknowledged (the checkpoint). `inFlight` lists
/// emitted batches in order; acknowledging the oldest contiguous ones advances `committed`.
struct TailedFile {
    struct InFlight {
        var sequence: UInt64
        var endOffset: Int64
        var acknowledged = false
    }

    let id: Int
    var fd: Int32
    var path: String
    var device: UInt64
    var inode: UInt64
    var fingerprint: [UInt8]
    var readOffset: Int64
    var committed: Int64
    var splitter: LineSplitter
    var assembler: RecordAssembler
    var inFlight: [InFlight] = []
    /// How far the page cache was advised to drop the file's pages (`file_cache_advise`).
    var advised: Int64 = 0
    /// Monotonic time of the last read that returned data.
    var lastDataAt: UInt64
    /// Monotonic time since which no include path leads to this file (rotated away, deleted).
    var unseenSince: UInt64?
    /// Resource attributes (Kubernetes metadata from the path at discovery).
    var resourceAttributes: [(String, String)]

    var isOpen: Bool { fd >= 0 }
    var holdsData: Bool { splitter.holdsPartial || assembler.holdsRecord }

    /// Moves `committed` over the acknowledged prefix of `inFlight`; true when it moved.
    mutating func advanceCommitted() -> Bool {
        var moved = false
        while let first = inFlight.first, first.acknowledged {
            committed = first.endOffset
            inFlight.removeFirst()
            moved = true
        }
        return moved
    }

    /// Drops the pages of the acknowledged bytes from the page cache once at least `step` of
    /// them gathered since the last advice. The kernel drops only whole folios inside the
    /// range, and a folio (up to 2 MiB) may straddle the last advice's end, so each advice
    /// reaches 2 MiB back.
    mutating func adviseCommitted(step: Int64) {
        guard isOpen, committed - advised >= step else { return }
        Sys.dropCachedPages(fd, from: max(0, advised - (2 << 20)), to: committed)
        advised = committed
    }

    /// Whether the file still starts with `fingerprint` (false also when it cannot be read).
    /// Checked after every read, so without allocating: the bytes go to a temporary buffer.
    static func startsWith(_ fd: Int32, _ fingerprint: [UInt8]) -> Bool {
        let count = fingerprint.count
        return withUnsafeTemporaryAllocation(byteCount: count, alignment: 8) { buffer in
            guard (try? Sys.pread(fd, buffer, at: 0, path: "")) == count else { return false }
            return fingerprint.withUnsafeBytes { memcmp($0.baseAddress!, buffer.baseAddress!, count) == 0 }
        }
    }
}
