import CollectorCore

/// Handing batches to the pipeline, acknowledgements, and the checkpoint file.
extension Tailer {
    /// Wraps a payload in a batch whose token routes its acknowledgement back to this queue.
    func send(payload: [UInt8], count: Int, fileID: Int, sequence: UInt64) {
        guard let box else { return }
        let token = AckToken { error in
            box.async { $0.acknowledged(fileID: fileID, sequence: sequence, error: error, payload: payload, count: count) }
        }
        outbox.append(Outgoing(fileID: fileID, batch: TelemetryBatch(signal: .logs, payload: payload, itemCount: count, tokens: [token])))
        drainOutbox()
    }

    /// Offers queued batches to the consumer in order; stops at the first refusal.
    func drainOutbox() {
        while let next = outbox.first {
            guard let consumer else { return }
            do {
                try consumer.consume(next.batch)
                metrics.accepted.add(next.batch.itemCount)
                outbox.removeFirst()
            } catch {
                metrics.refused.add(next.batch.itemCount)
                if error.isRetryable { return }
                // Permanent: the pipeline will never take it. Count it and move on.
                logger.error("pipeline rejected \(next.batch.itemCount) log records permanently: \(error)")
                outbox.removeFirst()
                next.batch.complete(error)
            }
        }
    }

    /// A batch's last exporter finished: success or permanent failure advances the committed
    /// offset; a retryable failure sends the same records again.
    func acknowledged(fileID: Int, sequence: UInt64, error: ComponentError?, payload: [UInt8], count: Int) {
        if let error {
            metrics.ackFailures.increment()
            if error.isRetryable {
                logger.warn("delivery of \(count) log records failed (\(error)); sending them again")
                send(payload: payload, count: count, fileID: fileID, sequence: sequence)
                return
            }
            logger.error("\(count) log records were rejected: \(error)")
        }
        guard var f = files[fileID], let i = f.inFlight.firstIndex(where: { $0.sequence == sequence }) else { return }
        f.inFlight[i].acknowledged = true
        if f.advanceCommitted() { checkpointDirty = true }
        files[fileID] = f
        scheduleCheckpoint()
    }

    /// Writes the checkpoint after the acknowledgements already queued are processed, so a burst
    /// of them costs one write (and one fsync).
    func scheduleCheckpoint() {
        guard checkpointDirty, !checkpointScheduled, let box else { return }
        checkpointScheduled = true
        box.async { t in
            t.checkpointScheduled = false
            if t.checkpointDirty { t.writeCheckpoint() }
        }
    }

    var inFlightCount: Int { files.values.reduce(0) { $0 + $1.inFlight.count } + outbox.count }

    /// Rewrites the checkpoint with the committed offsets of open files.
    func writeCheckpoint() {
        guard !closed else { return }
        var c = Checkpoint()
        for f in files.values.sorted(by: { $0.id < $1.id }) where f.isOpen {
            c.entries.append(.init(fingerprint: f.fingerprint, path: f.path, device: f.device, inode: f.inode, offset: f.committed))
        }
        // Entries not matched yet (files missing right now) are kept until the first poll is done.
        if firstPoll { c.entries += restored }
        do {
            try FileSystem.writeAtomically(checkpointPath, c.encoded())
            checkpointDirty = false
        } catch {
            reportOnce("checkpoint", "cannot write checkpoint: \(error)")
        }
    }
}
