import CollectorCore
import Dispatch
import SystemIO

/// Reading files into records and batches.
extension Tailer {
    /// Reads every open file to its end, until the consumer pushes back or the bytes in flight
    /// reach `maxInFlightBytes` (then acknowledgements resume reading, see `resumeReading`).
    ///
    /// Fairness: files take turns of at most `readTurnBytes`, and each call starts after the
    /// file that had the last turn, so a huge file being caught up (or one that is written
    /// faster than it can be shipped) never starves the others.
    func readAll(now: UInt64) {
        var order = files.keys.sorted()
        if let last = lastTurn, let i = order.firstIndex(where: { $0 > last }) {
            order = Array(order[i...] + order[..<i])
        }
        var more = true
        while more && canRead {
            more = false
            for id in order {
                guard canRead else { break }
                lastTurn = id
                if readFile(id, now: now, limit: Self.readTurnBytes) { more = true }
            }
        }
        throttled = outbox.isEmpty && inFlightBytes >= inFlightLimit
        if throttled { scheduleStallCheck() }
    }

    static let readTurnBytes: Int64 = 1 << 20

    /// Nothing refused is waiting and the in-flight budget has room.
    var canRead: Bool { outbox.isEmpty && inFlightBytes < inFlightLimit }

    /// `maxInFlightBytes`, plus the overdraft granted while acknowledgements stall.
    var inFlightLimit: Int { settings.maxInFlightBytes + overdraft }

    /// Reading is paused by the in-flight bound and no acknowledgement came for 100 ms: the
    /// pipeline may be waiting for more data before it sends anything (a batch processor whose
    /// `send_batch_size` holds more than the bound, with long lines), so the bound is raised,
    /// to twice the bound; it is reset once the bytes in flight are below the bound again and
    /// 10 s have passed since it was granted (`overdraftHoldNanos`: a pipeline that needs it for
    /// every batch keeps it rather than stalling before each). A pipeline that is really stuck
    /// (an exporter retrying) thus holds at most twice the bound.
    /// (The wait is long enough not to mistake an exporter's fsync for a stall: every extra
    /// byte in flight is memory.)
    func scheduleStallCheck() {
        guard !stallCheckScheduled, let box else { return }
        stallCheckScheduled = true
        let seen = acknowledgements
        box.queue.asyncAfter(deadline: DispatchTime.now() + DispatchTimeInterval.milliseconds(100)) {
            let t = box.onQueue
            t.stallCheckScheduled = false
            guard t.throttled, t.reading, !t.closed else { return }
            if t.acknowledgements != seen { return t.scheduleStallCheck() }   // flowing, slowly
            // At the cap, nothing more: the next acknowledgement resumes reading.
            guard t.overdraft < t.settings.maxInFlightBytes else { return }
            t.overdraft = t.settings.maxInFlightBytes
            t.overdraftGrantedAt = Sys.monotonicNanos()
            t.metrics.overdrafts.increment()
            t.throttled = false
            t.readAll(now: Sys.monotonicNanos())
        }
    }

    func makeEncoder(_ f: TailedFile) -> LogsRequestEncoder {
        var fileAttributes: [(String, String)] = []
        if settings.includeFileName {
            fileAttributes.append(("log.file.name", String(f.path.split(separator: "/").last ?? "")))
        }
        if settings.includeFilePath { fileAttributes.append(("log.file.path", f.path)) }
        if settings.includeFileNameResolved || settings.includeFilePathResolved {
            let resolved = Sys.realPath(f.path) ?? f.path   // renamed away meanwhile: as is
            if settings.includeFileNameResolved {
                fileAttributes.append(("log.file.name_resolved", String(resolved.split(separator: "/").last ?? "")))
            }
            if settings.includeFilePathResolved { fileAttributes.append(("log.file.path_resolved", resolved)) }
        }
        return LogsRequestEncoder(scratch: scratch, resourceAttributes: f.resourceAttributes, fileAttributes: fileAttributes,
                                  observedUnixNano: Sys.wallClockNanos())
    }

    func isFull(_ e: LogsRequestEncoder) -> Bool {
        e.count >= settings.maxBatchRecords || e.byteCount >= settings.maxBatchBytes
    }

    /// Reads `id` to its end, or until `canRead` turns false or `limit` bytes were read
    /// (then returns true: there may be more), emitting batches.
    ///
    /// Plain lines (no multiline, container format, `parse_json` or `json_parser`) are encoded
    /// straight from the read buffer; the other modes go through `RecordAssembler` and `LogEntry`s.
    @discardableResult
    func readFile(_ id: Int, now: UInt64, limit: Int64 = .max) -> Bool {
        guard var f = files[id], f.isOpen else { return false }
        let startOffset = f.readOffset
        files[id] = nil   // keep `f` uniquely referenced while it is mutated
        defer { files[id] = f }
        var encoder = makeEncoder(f)
        var ready: [EncodedLogs] = []
        var lines: [LineSplitter.Line] = []
        var entries: [LogEntry] = []
        let plain = settings.format == .none && lineStart == nil && lineEnd == nil && !settings.parseJSON && jsonParser == nil
        let maxRecords = settings.maxBatchRecords, maxBytes = settings.maxBatchBytes
        var gotData = false
        var changed = false
        while canRead, f.readOffset - startOffset < limit {
            let n: Int
            do {
                let fd = f.fd, offset = f.readOffset, path = f.path
                n = try readBuffer.withUnsafeMutableBytes { b in
                    Result { () throws(SystemError) in try Sys.preadOnce(fd, b, at: offset, path: path) }
                }.get()
            } catch {
                reportOnce("read:\(f.path)", "cannot read \(f.path): \(error)")
                break
            }
            if n == 0 { break }
            // Checked after the read: if the file no longer starts with its fingerprint, it was
            // truncated (copytruncate) and written again since the last discovery, and these
            // bytes may be its new content at a stale offset. Drop them; the discovery makes the
            // copy continue from `readOffset` and reads the new content from 0.
            if !f.fingerprint.isEmpty, !TailedFile.startsWith(f.fd, f.fingerprint) {
                changed = true
                break
            }
            gotData = true
            metrics.bytesRead.add(n)
            var lineCount = 0, cutCount = 0
            readBuffer.withUnsafeBytes { b in
                let chunk = UnsafeRawBufferPointer(rebasing: b[0..<n])
                if plain {
                    f.splitter.feed(chunk, base: f.readOffset) { body, _, end, cut in
                        lineCount += 1
                        if cut { cutCount += 1 }
                        encoder.add(body: body, endOffset: end)
                        if encoder.count >= maxRecords || encoder.byteCount >= maxBytes {
                            ready.append(encoder.take())
                        }
                    }
                } else {
                    f.splitter.feed(chunk, base: f.readOffset) { body, start, end, cut in
                        lines.append(LineSplitter.Line(bytes: Array(body), endOffset: end, cut: cut, startOffset: start))
                    }
                }
            }
            f.readOffset += Int64(n)
            if !plain {
                lineCount = lines.count
                let cutBefore = f.assembler.cutCount
                for line in lines { f.assembler.add(line, now: now, into: &entries) }
                cutCount = f.assembler.cutCount - cutBefore
                lines.removeAll(keepingCapacity: true)
                encode(&entries, with: &encoder, into: &ready)
            }
            metrics.linesRead.add(lineCount)
            metrics.linesCut.add(cutCount)
            for r in ready { dispatch(r, &f) }
            ready.removeAll(keepingCapacity: true)
        }
        if changed {
            box?.async { $0.poll() }
        }
        if gotData {
            f.lastDataAt = now
            if f.assembler.holdsRecord {
                f.assembler.flushStale(now: now, olderThan: settings.forceFlushPeriod, into: &entries)
                encode(&entries, with: &encoder, into: &ready)
            }
        } else if !changed, f.holdsData, now &- f.lastDataAt >= settings.forceFlushPeriod {
            flushHeld(&f, into: &entries)
            encode(&entries, with: &encoder, into: &ready)
        }
        if encoder.count > 0 { ready.append(encoder.take()) }
        for r in ready { dispatch(r, &f) }
        return f.readOffset - startOffset >= limit
    }

    /// Encodes `entries` (emptying it), finishing a request whenever the encoder is full;
    /// `json_parser` (which also does `parse_json`'s part) or `parse_json` apply here.
    func encode(_ entries: inout [LogEntry], with encoder: inout LogsRequestEncoder, into ready: inout [EncodedLogs]) {
        let parser = jsonParser, parseJSON = settings.parseJSON
        for var e in entries {
            if let parser {
                parser.apply(&e)
            } else if parseJSON {
                JSONBody.enrich(&e)
            }
            encoder.add(e)
            if isFull(encoder) {
                ready.append(encoder.take())
            }
        }
        entries.removeAll(keepingCapacity: true)
    }

    /// Emits the partial line and held record (force flush, or the file is finished).
    func flushHeld(_ f: inout TailedFile, into entries: inout [LogEntry]) {
        if let line = f.splitter.flush(endOffset: f.readOffset) {
            metrics.linesRead.increment()
            let cutBefore = f.assembler.cutCount
            f.assembler.add(line, into: &entries)
            metrics.linesCut.add(f.assembler.cutCount - cutBefore)
        }
        f.assembler.flushHeld(into: &entries)
    }

    /// Encodes `entries` of file `fileID` and sends them.
    func emit(_ entries: [LogEntry], fileID: Int) {
        guard !entries.isEmpty, var f = files[fileID] else { return }
        var encoder = makeEncoder(f)
        var ready: [EncodedLogs] = []
        var pending = entries
        encode(&pending, with: &encoder, into: &ready)
        if encoder.count > 0 { ready.append(encoder.take()) }
        for r in ready { dispatch(r, &f) }
        files[fileID] = f
    }

    /// Records the batch as in flight for `f` and hands it to the outbox.
    func dispatch(_ r: EncodedLogs, _ f: inout TailedFile) {
        let sequence = nextSequence
        nextSequence += 1
        f.inFlight.append(TailedFile.InFlight(sequence: sequence, endOffset: r.endOffset))
        inFlightBytes += r.payload.count
        send(payload: r.payload, count: r.count, fileID: f.id, sequence: sequence, path: f.path)
    }

    /// Closes files no glob leads to once they have been idle for `rotateWait` *and* read to
    /// their end, and forgets files without descriptor once their batches are acknowledged.
    /// (Idle is not enough: while reading is paused, by a full pipeline or by the in-flight
    /// bound, a file may be idle with bytes still unread, and closing it would lose them.)
    func retireFinished(now: UInt64) {
        for id in files.keys.sorted() {
            guard var f = files[id] else { continue }
            if f.isOpen, let since = f.unseenSince, now &- since >= settings.rotateWait,
               now &- f.lastDataAt >= settings.rotateWait,
               let info = try? Sys.fstat(f.fd, path: f.path), info.size <= f.readOffset {
                var entries: [LogEntry] = []
                flushHeld(&f, into: &entries)
                Sys.close(f.fd)
                f.fd = -1
                files[id] = f
                emit(entries, fileID: id)
                logger.debug("stopped watching \(f.path)")
                checkpointDirty = true
                f = files[id]!
            }
            if !f.isOpen, f.inFlight.isEmpty {
                files[id] = nil
                checkpointDirty = true
            }
        }
    }
}
