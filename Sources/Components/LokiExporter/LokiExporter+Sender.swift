import CollectorCore
import Dispatch

/// The sender loop of the disk-queue mode (see `LokiExporter`).
extension LokiExporter {
    /// Runs until stopped and, once stopped, until the queue is empty, a push fails, or the
    /// shutdown deadline passed.
    func runSender(_ queue: LokiDiskQueue) {
        var waitingSince: UInt64?
        var stopDeadline: UInt64?
        while true {
            let stopping = stop.isStopped
            if stopping {
                let deadline = stopDeadline ?? clock.now() + settings.shutdownTimeout
                stopDeadline = deadline
                if clock.now() >= deadline { return }
            }
            let size = queue.size
            if size.records == 0 {
                if stopping { return }
                waitingSince = nil
                _ = wake.wait(timeout: .now() + .milliseconds(500))
                wakePending.store(false, ordering: .sequentiallyConsistent)   // before looking at the queue again
                continue
            }
            if !stopping && size.bytes < settings.batchMaxBytes {
                let first = waitingSince ?? clock.now()
                waitingSince = first
                let elapsed = clock.now() - first
                if elapsed < settings.batchTimeout {
                    _ = wake.wait(timeout: .now() + .nanoseconds(Int(settings.batchTimeout - elapsed)))
                    wakePending.store(false, ordering: .sequentiallyConsistent)
                    continue
                }
            }
            waitingSince = nil
            let payloads: [[UInt8]]
            do {
                payloads = try queue.peek(maxBytes: settings.batchMaxBytes)
            } catch {
                logger.error("\(error)")
                if !stop.sleep(1_000_000_000) { return }
                continue
            }
            switch sender.deliver(payloads, giveUpAfter: nil) {
            case .delivered, .dropped:
                do {
                    try queue.commit(count: payloads.count)
                } catch {
                    logger.error("\(error)")
                    if !stop.sleep(1_000_000_000) { return }
                }
            case .gaveUp, .interrupted:
                return
            }
        }
    }
}
