#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Splits a file's bytes into lines at `\n` (a trailing `\r` is stripped).
///
/// State: the bytes of the line not yet terminated. A line longer than `maxSize` keeps only its
/// first `maxSize` bytes and is emitted (marked `cut`) when its newline arrives, so the offset
/// after it is always a line boundary and a restart never starts mid-line. Lines that lie
/// within one chunk are handed out as views of the chunk (no copy); only a line spanning chunks
/// is assembled in the partial buffer.
struct LineSplitter {
    struct Line {
        var bytes: [UInt8]
        /// Offset just after the newline (or after the last byte, for a flushed partial line).
        var endOffset: Int64
        var cut: Bool
        /// Offset of the line's first byte.
        var startOffset: Int64 = 0
    }

    let maxSize: Int
    private var partial: [UInt8] = []
    private var partialCut = false
    private var hasPartial = false
    private var partialStart: Int64 = 0

    init(maxSize: Int) { self.maxSize = maxSize }

    /// True while an unterminated line is held.
    var holdsPartial: Bool { hasPartial }

    /// Feeds `chunk`, which starts at file offset `base`. `line` is called for every complete
    /// line with its bytes (valid during the call only), the offsets of its first byte and just
    /// after its newline, and whether it was cut at `maxSize`.
    mutating func feed(_ chunk: UnsafeRawBufferPointer, base: Int64, _ line: (UnsafeRawBufferPointer, Int64, Int64, Bool) -> Void) {
        guard let p = chunk.baseAddress else { return }
        let count = chunk.count
        var start = 0
        while start < count {
            guard let hit = memchr(p + start, 0x0a, count - start) else {
                if !hasPartial { partialStart = base + Int64(start) }
                append(UnsafeRawBufferPointer(start: p + start, count: count - start))
                return
            }
            let nl = UnsafeRawPointer(hit) - p
            let endOffset = base + Int64(nl + 1)
            if hasPartial {
                append(UnsafeRawBufferPointer(start: p + start, count: nl - start))
                let cut = partialCut
                if partial.last == 0x0d { partial.removeLast() }
                let lineStart = partialStart
                partial.withUnsafeBytes { line($0, lineStart, endOffset, cut) }
                reset()
            } else {
                var length = nl - start
                let cut = length > maxSize
                if cut { length = maxSize }
                if length > 0, p.load(fromByteOffset: start + length - 1, as: UInt8.self) == 0x0d { length -= 1 }
                line(UnsafeRawBufferPointer(start: p + start, count: length), base + Int64(start), endOffset, cut)
            }
            start = nl + 1
        }
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        hasPartial = hasPartial || bytes.count > 0
        guard !partialCut else { return }
        let room = maxSize - partial.count
        if bytes.count > room {
            partial.append(contentsOf: bytes.prefix(room))
            partialCut = true
        } else {
            partial.append(contentsOf: bytes)
        }
    }

    private mutating func reset() {
        partial.removeAll(keepingCapacity: partial.capacity <= 65_536)
        partialCut = false
        hasPartial = false
    }

    /// The unterminated line as a line ending at `endOffset` (force flush), if any.
    mutating func flush(endOffset: Int64) -> Line? {
        guard hasPartial else { return nil }
        var bytes = partial
        if bytes.last == 0x0d { bytes.removeLast() }
        let line = Line(bytes: bytes, endOffset: endOffset, cut: partialCut, startOffset: partialStart)
        reset()
        return line
    }
}
