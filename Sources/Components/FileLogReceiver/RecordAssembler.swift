/// Turns lines into log records: one per line, or recombined multiline / CRI / docker partials.
///
/// State: the lines of a record not yet complete (a multiline record waits for the next start
/// line; a CRI `P` line for its `F` line; a docker entry without a trailing newline for the
/// rest). Records carry the end offset of their last line, so a checkpoint never covers a held
/// line: after a restart held lines are read again and recombined, never lost or split.
struct RecordAssembler {
    enum Mode {
        case plain
        case multiline(Regex<AnyRegexOutput>)
        case cri
        case docker
        /// CRI or docker, decided line by line (the OTel `container` operator without `format`).
        case auto
    }

    let mode: Mode
    let maxSize: Int
    private var held: LogEntry?
    /// Records cut at `maxSize` (after recombination).
    private(set) var cutCount = 0

    init(mode: Mode, maxSize: Int) {
        self.mode = mode
        self.maxSize = maxSize
    }

    var holdsRecord: Bool { held != nil }

    mutating func add(_ line: LineSplitter.Line, into out: inout [LogEntry]) {
        if line.cut { cutCount += 1 }
        switch mode {
        case .plain:
            out.append(LogEntry(body: line.bytes, endOffset: line.endOffset))
        case .multiline(let regex):
            let text = String(decoding: line.bytes, as: UTF8.self)
            let starts = (try? regex.prefixMatch(in: text)) != nil
            if starts, held != nil { flushHeld(into: &out) }
            if held == nil {
                held = LogEntry(body: line.bytes, endOffset: line.endOffset)
            } else {
                appendBody([0x0a] + line.bytes, endOffset: line.endOffset)
            }
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
    /// is passed on whole.
    private mutating func container(_ parsed: ContainerLine?, _ line: LineSplitter.Line, into out: inout [LogEntry]) {
        guard let parsed else {
            flushHeld(into: &out)
            out.append(LogEntry(body: line.bytes, endOffset: line.endOffset))
            return
        }
        if let h = held, h.attributes.first?.1 != parsed.stream { flushHeld(into: &out) }
        merge(parsed, line: line)
        if !parsed.partial { flushHeld(into: &out) }
    }

    private mutating func merge(_ c: ContainerLine, line: LineSplitter.Line) {
        if held == nil {
            held = LogEntry(body: [], timeUnixNano: c.time, attributes: [("log.iostream", c.stream)], endOffset: line.endOffset)
        }
        appendBody(c.message, endOffset: line.endOffset)
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

    /// The held record was already cut (counted once).
    private var heldCut = false

    /// Emits the held record, if any (force flush, file finished).
    mutating func flushHeld(into out: inout [LogEntry]) {
        if let h = held { out.append(h) }
        held = nil
        heldCut = false
    }
}
