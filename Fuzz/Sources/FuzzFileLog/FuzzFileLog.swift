@testable import FileLogReceiver
import FuzzSupport
import OTLPCodec

/// A tailed log file, through what the `filelog` receiver does with its bytes: `LineSplitter`
/// (read chunks of any size), `RecordAssembler` (plain lines, CRI and docker json-file lines
/// with their partials: `ContainerLine`, `TimestampParser`, `MiniJSON`), `json_parser` /
/// `parse_json` (`JSONParser`, `JSONBody`), and `LogsRequestEncoder`; plus the checkpoint file.
///
/// Input: the mode (plain, cri, docker, auto) and options (line size limit, parsers), the number
/// of read sizes and the sizes, then the file. Oracles: how the file is cut into reads changes
/// no record; every request encoded validates as OTLP with one record per entry and only valid
/// UTF-8 text; end offsets never decrease nor pass the bytes read; a JSON value written back
/// parses to itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFileLog(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let options = input.byte()
    let mode: RecordAssembler.Mode = [.plain, .cri, .docker, .auto][Int(options & 3)]
    let maxSize = [16, 256, 4096, 1 << 20][Int((options >> 2) & 3)]
    let parsers = input.byte()
    let sizes = input.take(Int(input.byte() % 16))
    let file = input.rest()

    let whole = records(file, [file[...]], mode: mode, maxSize: maxSize)
    let parts = chunks(file, sizes: sizes)
    let cut = records(file, parts, mode: mode, maxSize: maxSize)
    require(whole.map(Snapshot.init) == cut.map(Snapshot.init), "reads of \(sizes) change the records")

    var settings = JSONParserSettings()
    settings.parseInts = parsers & 1 != 0
    settings.timestamp = .init(parseFrom: ["time"], layout: parsers & 2 != 0 ? .rfc3339 : .epoch(nanosPerUnit: 1_000_000))
    settings.severity = ["level"]
    settings.traceID = ["trace_id"]
    settings.spanID = ["ctx", "span_id"]
    settings.traceFlags = ["flags"]
    let parser = parsers & 4 != 0 ? JSONParser(settings: settings, parseJSON: parsers & 8 != 0, fileAttributeKeys: ["log.file.name"]) : nil
    var entries = whole
    for i in entries.indices {
        if let parser { parser.apply(&entries[i]) } else if parsers & 8 != 0 { JSONBody.enrich(&entries[i]) }
    }
    encode(entries, fileLength: file.count)

    // json_parser with nothing looked up by path takes the fast path (members straight to
    // attribute bytes) where it can: its records must be the general path's, byte for byte.
    var plain = JSONParserSettings()
    plain.parseInts = parsers & 1 != 0
    let plainParser = JSONParser(settings: plain, parseJSON: false, fileAttributeKeys: ["log.file.name"])
    for entry in whole.prefix(16) {
        var fast = entry, general = entry
        plainParser.apply(&fast)
        plainParser.applyGenerally(&general)
        require(encodedRecord(fast) == encodedRecord(general), """
            json_parser's fast path differs from the general path for \(describe(entry.body, limit: 300))
            """)
    }

    for entry in whole.prefix(8) {
        if let json = MiniJSON.parse(entry.body) {
            var text: [UInt8] = []
            json.write(into: &text)
            require(MiniJSON.parse(text) == json, "MiniJSON does not read back \(String(decoding: text, as: UTF8.self))")
        }
    }
    if let checkpoint = Checkpoint.decode(file) {
        require(Checkpoint.decode(checkpoint.encoded()) == checkpoint, "a checkpoint does not read back")
    }
    return 0
}

/// The records of `file` read in `reads`, as the tailer makes them (a final flush included).
private func records(_ file: [UInt8], _ reads: [ArraySlice<UInt8>], mode: RecordAssembler.Mode, maxSize: Int) -> [LogEntry] {
    var splitter = LineSplitter(maxSize: maxSize)
    var assembler = RecordAssembler(mode: mode, maxSize: maxSize)
    var entries: [LogEntry] = []
    var offset: Int64 = 0
    for read in reads {
        var lines: [LineSplitter.Line] = []
        read.withUnsafeBytes { chunk in
            splitter.feed(chunk, base: offset) { body, start, end, cut in
                require(body.count <= maxSize && start >= 0 && start < end && end <= Int64(file.count),
                        "a line of \(body.count) bytes at \(start)..<\(end) in \(file.count)")
                lines.append(LineSplitter.Line(bytes: Array(body), endOffset: end, cut: cut, startOffset: start))
            }
        }
        offset += Int64(read.count)
        for line in lines { assembler.add(line, now: 0, into: &entries) }
    }
    if let line = splitter.flush(endOffset: offset) { assembler.add(line, into: &entries) }
    assembler.flushHeld(into: &entries)
    return entries
}

/// The requests of `entries`, in batches of up to 3 records, checked record by record.
private func encode(_ entries: [LogEntry], fileLength: Int) {
    let scratch = ScratchBuffer(capacity: 64)
    var encoder = LogsRequestEncoder(scratch: scratch, resourceAttributes: [("k8s.pod.name", "p")],
                                     fileAttributes: [("log.file.name", "a.log")], observedUnixNano: 1)
    var previous: Int64 = 0
    var batches: [EncodedLogs] = []
    for entry in entries {
        require(entry.endOffset >= previous && entry.endOffset <= Int64(fileLength),
                "end offset \(entry.endOffset) after \(previous), file of \(fileLength)")
        previous = entry.endOffset
        encoder.add(entry)
        if encoder.count == 3 { batches.append(encoder.take()) }
    }
    if encoder.count > 0 { batches.append(encoder.take()) }
    require(batches.reduce(0) { $0 + $1.count } == entries.count, "batches lost records")
    for batch in batches {
        let counts = try? OTLPValidator.counts(.logs, protobuf: batch.payload)
        require(counts?.items == batch.count, "a batch of \(batch.count) records encodes as \(String(describing: counts))")
        batch.payload.withUnsafeBytes { raw in
            // A text that is not valid UTF-8 comes out `.rendered` (with U+FFFD); the encoder
            // writes only strings, so every text must come out as a byte range.
            func valid(_ value: OTLPLogRecordView.Value) -> Bool {
                if case .rendered = value { return false }
                return true
            }
            do {
                try OTLPLogRecords.visit(raw) { record in
                    require(valid(record.body) && valid(record.severityText), "a record's body or severity is not valid UTF-8")
                    for a in record.attributes { require(valid(a.key), "an attribute key is not valid UTF-8") }
                }
            } catch {
                require(false, "an encoded batch cannot be read: \(error)")
            }
        }
    }
}

/// `entry` encoded alone (a fixed observed time, so that equal records give equal bytes).
private func encodedRecord(_ entry: LogEntry) -> [UInt8] {
    var encoder = LogsRequestEncoder(scratch: ScratchBuffer(capacity: 64), resourceAttributes: [],
                                     fileAttributes: [("log.file.name", "a.log")], observedUnixNano: 1)
    encoder.add(entry)
    return encoder.take().payload
}

/// What must not depend on how the file was read.
private struct Snapshot: Equatable {
    var body: [UInt8]
    var time: UInt64
    var attributes: [String]
    var endOffset: Int64

    init(_ e: LogEntry) {
        body = e.body
        time = e.timeUnixNano
        attributes = e.attributes.map { "\($0.0)=\($0.1)" }
        endOffset = e.endOffset
    }
}
