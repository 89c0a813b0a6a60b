import Patterns

/// Turns lines into log records: one per line, or recombined multiline / CRI / docker partials.
///
/// State: the lines of a record not yet complete (a multiline record waits for the next start
/// line; a CRI `P` line for its `F` line; a docker entry without a trailing newline for the
/// rest). Container partials are held per stream, so stdout and stderr partials interleaved in
/// one file are each joined with their own continuation. Records carry the end offset of their
/// last line, lowered to the first byte of any line still held for another stream, so a
/// checkpoint never covers a held line: after a restart held lines are read again and
/// recombined (records emitted after them may then repeat), never lost or split.
struct RecordAssembler {
    enum Mode {
        case plain
        case multiline(Pattern)
        /// `line_end_pattern`: a line matching it (anywhere) ends the record.
        case multilineEnd(Pattern)
        case cri
        case docker
        /// CRI or docker, decided line by line (the OTel `container` operator without `format`).
        case auto
    }

    let mode: Mode
    let maxSize: Int
    private var held: LogEntry?
    /// Container modes: per stream, the partial record held and where its first line starts.
    private var heldStreams: [(stream: String, entry: LogEntry, start: Int64, cut: Bool, since: UInt64)] = []
    /// Records cut at `maxSize` (after recombination).
    private(set) var cutCount = 0

    init(mode: Mode, maxSize: Int) {
        self.mode = mode
        self.maxSize = maxSize
    }

    var holdsRecord: Bool { held != nil || !heldStreams.isEmpty }

    /// Adds `line`, read at monotonic time `now` (used to flush container partials whose
    /// continuation never comes, see `flushStale`).
    mutating func add(_ line: LineSplitter.Line, now: UInt64 = 0, into out: inout [LogEntry]) {
        self.now = now
        // Raised after the line is handled: records flushed because of it (a line in another
        // format) must not cover it before it is sent itself.
        defer { consumedEnd = max(consumedEnd, line.endOffset) }
        if line.cut { cutCount += 1 }
        switch mode {
        case .plain:
            out.append(LogEntry(body: line.bytes, endOffset: line.endOffset))
        case .multiline(let regex):
            let starts = line.bytes.withUnsafeBytes { regex.matches($0, anchor: .start) }
            if starts, held != nil { flushHeld(into: &out) }
            if held == nil {
                held = LogEntry(body: line.bytes, endOffset: line.endOffset)
            } else {
                appendBody([0x0a] + line.bytes, endOffset: line.endOffset)
            }
        case .multilineEnd(let regex):
            if held == nil {
                held = LogEntry(body: line.bytes, endOffset: line.endOffset)
            } else {
                appendBody([0x0a] + line.bytes, endOffset: line.endOffset)
            }
            if line.bytes.withUnsafeBytes({ regex.matches($0) }) { flushHeld(into: &out) }
        case .cri:
            container(ContainerLine.cri(line.bytes), line, into: &out)
        case .docker:
            container(ContainerLine.docker(line.bytes), line, into: &out)
        case .auto:
            // Docker's json-file lines are JSON objects; CRI lines start with a timestamp.
            let parsed = line.bytes.first == UInt8(ascii: "{") ? ContainerLine.docker(line.bytes) : ContainerLine.cri(line.bytes)
            container(parsed, line, into: &out)
        }
    }

    /// A container runtime's line: partials are joined per stream; a line in another format
    /// is passed on whole (after everything held).
    private mutating func container(_ parsed: ContainerLine?, _ line: LineSplitter.Line, into out: inout [LogEntry]) {
        guard let parsed else {
            flushHeld(into: &out)
            out.append(LogEntry(body: line.bytes, endOffset: line.endOffset))
            return
        }
        var index = heldStreams.firstIndex { $0.stream == parsed.stream }
        if index == nil, heldStreams.count >= 2 {
            // At most two streams (stdout, stderr) are held: a third one flushes the oldest.
            let oldest = heldStreams.indices.min { heldStreams[$0].start < heldStreams[$1].start }!
            emitStream(at: oldest, into: &out)
        }
        if index == nil {
            heldStreams.append((parsed.stream, LogEntry(body: [], timeUnixNano: parsed.time, attributes: [("log.iostream", parsed.stream)],
                                                        endOffset: line.endOffset), line.startOffset, false, now))
            index = heldStreams.count - 1
        }
        let i = index!
        var entry = heldStreams[i].entry
        heldStreams[i].entry = LogEntry(body: [], endOffset: 0)   // keep the body uniquely referenced
        let room = maxSize - entry.body.count
        if parsed.message.count > room {
            entry.body.append(contentsOf: parsed.message.prefix(max(room, 0)))
            if !heldStreams[i].cut { cutCount += 1 }
            heldStreams[i].cut = true
        } else {
            entry.body.append(contentsOf: parsed.message)
        }
        entry.endOffset = line.endOffset
        heldStreams[i].entry = entry
        heldStreams[i].since = now
        if !parsed.partial { emitStream(at: i, into: &out) }
    }

    /// Emits stream `i`'s record; its end offset never passes the start of another held line.
    private mutating func emitStream(at i: Int, into out: inout [LogEntry]) {
        var entry = heldStreams.remove(at: i).entry
        if let earliest = heldStreams.map(\.start).min() {
            entry.endOffset = min(entry.endOffset, earliest)
        } else {
            entry.endOffset = max(entry.endOffset, consumedEnd)   // nothing held: all lines are out
        }
        out.append(entry)
    }

    private mutating func appendBody(_ bytes: [UInt8], endOffset: Int64) {
        guard var h = held else { return }
        held = nil   // keep the body uniquely referenced while appending
        let room = maxSize - h.body.count
        if bytes.count > room {
            h.body.append(contentsOf: bytes.prefix(max(room, 0)))
            if !heldCut { cutCount += 1 }
            heldCut = true
        } else {
            h.body.append(contentsOf: bytes)
        }
        h.endOffset = endOffset
        held = h
    }

    /// Time of the line being added.
    private var now: UInt64 = 0
    /// End of the last line added: once nothing is held, records may cover everything up to it.
    private var consumedEnd: Int64 = 0

    /// Emits container partials whose stream got no line for `period`: while the other stream
    /// keeps the file busy, a `P` line whose `F` never comes would otherwise stay held (and the
    /// checkpoint pinned before it) until the file goes idle.
    mutating func flushStale(now: UInt64, olderThan period: UInt64, into out: inout [LogEntry]) {
        while let i = heldStreams.firstIndex(where: { now &- $0.since >= period }) {
            emitStream(at: i, into: &out)
        }
    }

    /// The held record was already cut (counted once).
    private var heldCut = false

    /// Emits the held records, if any (force flush, file finished, a line of another format).
    mutating func flushHeld(into out: inout [LogEntry]) {
        if let h = held { out.append(h) }
        held = nil
        heldCut = false
        // Once all is flushed nothing is held: the last record may cover every line.
        let end = heldStreams.map(\.entry.endOffset).max()
        while !heldStreams.isEmpty {
            let first = heldStreams.indices.min { heldStreams[$0].start < heldStreams[$1].start }!
            emitStream(at: first, into: &out)
        }
        if let end, !out.isEmpty { out[out.count - 1].endOffset = max(out[out.count - 1].endOffset, end) }
    }
}
