import CollectorCore

/// Reading files into records and batches.
extension Tailer {
    func readAll(now: UInt64) {
        for id in files.keys.sorted() {
            guard outbox.isEmpty else { return }   // backpressure: read nothing more
            readFile(id, now: now)
        }
    }

    /// Reads `id` to its end (or until the consumer pushes back), emitting batches.
    func readFile(_ id: Int, now: UInt64) {
        guard var f = files[id], f.isOpen else { return }
        files[id] = nil   // keep `f` uniquely referenced while it is mutated
        defer { files[id] = f }
        var entries: [LogEntry] = []
        var lines: [LineSplitter.Line] = []
        var gotData = false
        while outbox.isEmpty {
            let n: Int
            do {
                let fd = f.fd, offset = f.readOffset, path = f.path
                n = try readBuffer.withUnsafeMutableBytes { b in
                    Result { () throws(SystemCallError) in try FileSystem.pread(fd, b, offset: offset, path: path) }
                }.get()
            } catch {
                reportOnce("read:\(f.path)", "cannot read \(f.path): \(error)")
                break
            }
            if n == 0 { break }
            gotData = true
            metrics.bytesRead.add(n)
            lines.removeAll(keepingCapacity: true)
            readBuffer.withUnsafeBytes { b in
                f.splitter.feed(UnsafeRawBufferPointer(rebasing: b[0..<n]), base: f.readOffset, into: &lines)
            }
            f.readOffset += Int64(n)
            metrics.linesRead.add(lines.count)
            let cutBefore = f.assembler.cutCount
            for line in lines { f.assembler.add(line, into: &entries) }
            metrics.linesCut.add(f.assembler.cutCount - cutBefore)
            if entries.count >= settings.maxBatchRecords {
                files[id] = f
                emit(entries, fileID: id)
                f = files[id]!
                files[id] = nil
                entries.removeAll(keepingCapacity: true)
            }
        }
        if gotData {
            f.lastDataAt = now
        } else if f.holdsData, now &- f.lastDataAt >= settings.forceFlushPeriod {
            flushHeld(&f, into: &entries)
        }
        files[id] = f
        emit(entries, fileID: id)
        f = files[id]!
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

    /// Encodes `entries` of file `fileID` as requests of at most `maxBatchRecords` records and
    /// sends them through the outbox.
    func emit(_ entries: [LogEntry], fileID: Int) {
        var start = 0
        while start < entries.count {
            let end = min(start + settings.maxBatchRecords, entries.count)
            emitBatch(entries[start..<end], fileID: fileID)
            start = end
        }
    }

    private func emitBatch(_ entries: ArraySlice<LogEntry>, fileID: Int) {
        guard !entries.isEmpty, var f = files[fileID] else { return }
        var fileAttributes: [(String, String)] = []
        if settings.includeFileName {
            fileAttributes.append(("log.file.name", String(f.path.split(separator: "/").last ?? "")))
        }
        if settings.includeFilePath { fileAttributes.append(("log.file.path", f.path)) }
        var builder = LogsRequestBuilder(resourceAttributes: f.resourceAttributes, fileAttributes: fileAttributes)
        let observed = FileSystem.nowUnixNano()
        for var e in entries {
            if settings.parseJSON { JSONBody.enrich(&e) }
            builder.add(e, observedUnixNano: observed)
        }
        let sequence = nextSequence
        nextSequence += 1
        f.inFlight.append(TailedFile.InFlight(sequence: sequence, endOffset: entries.last!.endOffset))
        files[fileID] = f
        send(payload: builder.build(), count: builder.count, fileID: fileID, sequence: sequence)
    }

    /// Closes files no glob leads to once they have been idle for `rotateWait`, and forgets
    /// files without descriptor once their batches are acknowledged.
    func retireFinished(now: UInt64) {
        for id in files.keys.sorted() {
            guard var f = files[id] else { continue }
            if f.isOpen, let since = f.unseenSince, now &- since >= settings.rotateWait,
               now &- f.lastDataAt >= settings.rotateWait, outbox.isEmpty {
                var entries: [LogEntry] = []
                flushHeld(&f, into: &entries)
                FileSystem.close(f.fd)
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
