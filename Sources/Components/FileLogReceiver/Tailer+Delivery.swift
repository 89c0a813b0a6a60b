import CollectorCore
import Dispatch
import SystemIO

/// Handing batches to the pipeline, acknowledgements, and the checkpoint file.
extension Tailer {
    /// Wraps a payload in a batch whose token routes its acknowledgement back to this queue.
    /// The batch's origin is the file's `path` (the encoder writes one resource per request).
    func send(payload: [UInt8], count: Int, fileID: Int, sequence: UInt64, path: String) {
        guard let box else { return }
        let token = AckToken { error in
            box.async { $0.acknowledged(fileID: fileID, sequence: sequence, error: error, payload: payload, count: count, path: path) }
        }
        let origin = BatchOrigin(resources: 1, context: RequestContext(filePath: path))
        outbox.append(Outgoing(fileID: fileID, batch: TelemetryBatch(signal: .logs, payload: payload, itemCount: count, tokens: [token],
                                                                     origins: [origin])))
        drainOutbox()
    }

    /// Offers queued batches to the consumer in order; stops at the first refusal, and then
    /// offers it again soon (see `retryRefused`). A refused batch is counted as refused once.
    func drainOutbox() {
        while let next = outbox.first {
            guard let consumer else { return }
            do {
                try consumer.consume(next.batch)
                metrics.accepted.add(next.batch.itemCount)
                outbox.removeFirst()
                refusalDelay = 0
            } catch {
                if !outbox[0].refused { metrics.refused.add(next.batch.itemCount) }
                outbox[0].refused = true
                if error.isRetryable {
                    retryRefused()
                    return
                }
                // Permanent: the pipeline will never take it. Count it and move on.
                logger.error("pipeline rejected \(next.batch.itemCount) log records permanently: \(error)")
                outbox.removeFirst()
                next.batch.complete(error)
            }
        }
    }

    /// The pipeline is full: offers the refused batch again after 2 ms, doubling up to the poll
    /// interval while it stays full, and reads on as soon as it is taken (waiting for the next
    /// poll instead would idle a pipeline that drains in a few milliseconds).
    func retryRefused() {
        guard !refusalScheduled, !closed, let box else { return }
        refusalScheduled = true
        refusalDelay = refusalDelay == 0 ? 2_000_000 : min(refusalDelay * 2, settings.pollInterval)
        box.queue.asyncAfter(deadline: DispatchTime.now() + DispatchTimeInterval.nanoseconds(Int(refusalDelay))) {
            let t = box.onQueue
            t.refusalScheduled = false
            guard !t.closed else { return }
            t.drainOutbox()
            if t.outbox.isEmpty, t.reading { t.readAll(now: Sys.monotonicNanos()) }
        }
    }

    /// A batch's last exporter finished: success or permanent failure advances the committed
    /// offset; a retryable failure sends the same records again.
    func acknowledged(fileID: Int, sequence: UInt64, error: ComponentError?, payload: [UInt8], count: Int, path: String) {
        if let error {
            metrics.ackFailures.increment()
            if error.isRetryable {
                return resendLater(Resend(fileID: fileID, sequence: sequence, payload: payload, count: count, path: path),
                                   after: error)
            }
            logger.error("\(count) log records were rejected: \(error)")
        } else if resendDelay != 0 && !resendScheduled {
            resendDelay = 0
            logger.info("delivery succeeds again; failed log records are sent again without delay")
        }
        inFlightBytes -= payload.count
        acknowledgements &+= 1
        if overdraft > 0, inFlightBytes < settings.maxInFlightBytes,
           Sys.monotonicNanos() &- overdraftGrantedAt > Self.overdraftHoldNanos {
            overdraft = 0
        }
        resumeReading()
        guard var f = files[fileID], let i = f.inFlight.firstIndex(where: { $0.sequence == sequence }) else { return }
        f.inFlight[i].acknowledged = true
        if f.advanceCommitted() {
            checkpointDirty = true
            if settings.fileCacheAdvise { f.adviseCommitted(step: settings.fileCacheAdviseStep) }
        }
        files[fileID] = f
        scheduleCheckpoint()
    }

    /// A batch's delivery failed with a retryable error after the pipeline took it (an exporter
    /// gave up for now, or the memory limiter refused it): its records are sent again after
    /// `resendDelay`, which starts at 100 ms and doubles up to 5 s (or the error's Retry-After)
    /// while failures go on, and starts over after a success. Batches failing meanwhile wait for
    /// the same turn, so a refusing pipeline sees one round per delay instead of a loop. Their
    /// payloads stay in flight, so reading pauses at `maxInFlightBytes` until they are taken;
    /// nothing is skipped (the checkpoint only advances over acknowledged batches).
    func resendLater(_ resend: Resend, after error: ComponentError) {
        resends.append(resend)
        guard !resendScheduled, !closed, let box else { return }
        resendScheduled = true
        if resendDelay == 0 {
            logger.warn("delivery of \(resend.count) log records failed (\(error)); sending them again, with a backoff while failures go on")
        }
        resendDelay = resendDelay == 0 ? 100_000_000 : min(resendDelay * 2, 5_000_000_000)
        let delay = max(resendDelay, UInt64(max(error.retryAfterSeconds ?? 0, 0)) * 1_000_000_000)
        box.queue.asyncAfter(deadline: DispatchTime.now() + DispatchTimeInterval.nanoseconds(Int(delay))) {
            let t = box.onQueue
            t.resendScheduled = false
            guard !t.closed else { return }
            let due = t.resends
            t.resends = []
            for r in due { t.send(payload: r.payload, count: r.count, fileID: r.fileID, sequence: r.sequence, path: r.path) }
        }
    }

    /// After an acknowledgement made room under `maxInFlightBytes`: reads on, once the
    /// acknowledgements already queued are processed.
    func resumeReading() {
        guard throttled, !resumeScheduled, reading, !closed, canRead, let box else { return }
        resumeScheduled = true
        box.async { t in
            t.resumeScheduled = false
            guard t.throttled, t.reading, !t.closed else { return }
            t.throttled = false
            t.readAll(now: Sys.monotonicNanos())
        }
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

    /// Rewrites the checkpoint with the committed offsets of open files (on the writer's queue).
    func writeCheckpoint() {
        guard !closed else { return }
        var c = Checkpoint()
        for f in files.values.sorted(by: { $0.id < $1.id }) where f.isOpen {
            c.entries.append(.init(fingerprint: f.fingerprint, path: f.path, device: f.device, inode: f.inode, offset: f.committed))
        }
        // Entries not matched yet (files missing right now) are kept while they may still be.
        c.entries += restored
        checkpointWriter.submit(c.encoded())
        checkpointDirty = false
    }
}
