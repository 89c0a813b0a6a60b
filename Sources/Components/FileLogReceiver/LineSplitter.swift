#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Splits a file's bytes into lines at `\n` (a trailing `\r` is stripped).
///
/// State: the bytes of the line not yet terminated. A line longer than `maxSize` keeps only its
/// first `maxSize` bytes and is emitted (marked `cut`) when its newline arrives, so the offset
/// after it is always a line boundary and a restart never starts mid-line.
struct LineSplitter {
    struct Line {
        var bytes: [UInt8]
        /// Offset just after the newline (or after the last byte, for a flushed partial line).
        var endOffset: Int64
        var cut: Bool
    }

    let maxSize: Int
    private var partial: [UInt8] = []
    private var partialCut = false
    private var hasPartial = false

    init(maxSize: Int) { self.maxSize = maxSize }

    /// True while an unterminated line is held.
    var holdsPartial: Bool { hasPartial }

    /// Feeds `chunk`, which starts at file offset `base`; complete lines go to `lines`.
    mutating func feed(_ chunk: UnsafeRawBufferPointer, base: Int64, into lines: inout [Line]) {
        var start = 0
        let count = chunk.count
        while start < count {
            let from = chunk.baseAddress! + start
            let nl = memchr(from, 0x0a, count - start).map { start + (UnsafeRawPointer($0) - from) } ?? count
            append(UnsafeRawBufferPointer(rebasing: chunk[start..<nl]))
            if nl < count {
                lines.append(take(endOffset: base + Int64(nl + 1)))
                start = nl + 1
            } else {
                start = count
            }
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

    private mutating func take(endOffset: Int64) -> Line {
        var bytes = partial
        if bytes.last == 0x0d { bytes.removeLast() }
        let line = Line(bytes: bytes, endOffset: endOffset, cut: partialCut)
        partial.removeAll(keepingCapacity: true)
        partialCut = false
        hasPartial = false
        return line
    }

    /// The unterminated line as a line ending at `endOffset` (force flush), if any.
    mutating func flush(endOffset: Int64) -> Line? {
        hasPartial ? take(endOffset: endOffset) : nil
    }
}
