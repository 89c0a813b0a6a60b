import CollectorCore
import Dispatch
import Synchronization

/// The sending side of an exporter's disk queue (`sending_queue.storage`): `enqueue` appends a
/// batch (fsynced with `sync: always`) and returns, so the batch is durably handled and its
/// client can be answered; a sender loop on its own queue reads the oldest batches (up to
/// `batchMaxBytes`, waiting up to `batchTimeout` for more), hands them to `deliver` (which
/// retries for as long as it takes) and moves the queue's cursor past them only once they
/// were delivered or dropped for good. A restart resends what was not confirmed: delivery is
/// at least once, exactly once unless the process dies between the answer and the cursor write.
///
/// Lifecycle: `start` starts the loop (once); `shutdown` (idempotent, safe without `start`)
/// stops it, letting it send what is queued for up to `shutdownTimeout`, stopping at the first
/// failure; what is left stays on disk. The queue is closed (its directory lock released)
/// only once the loop is done with it. Thread-safe.
public final class QueueSender: Sendable {
    public struct Options: Sendable {
        public var batchMaxBytes: Int
        public var batchTimeout: UInt64
        public var shutdownTimeout: UInt64

        public init(batchMaxBytes: Int, batchTimeout: UInt64, shutdownTimeout: UInt64) {
            self.batchMaxBytes = batchMaxBytes
            self.batchTimeout = batchTimeout
            self.shutdownTimeout = shutdownTimeout
        }
    }

    public let queue: DiskQueue
    let options: Options
    let stop: StopSignal
    let clock: any MonotonicClock
    let logger: Logger
    let label: String
    let deliver: @Sendable ([[UInt8]]) -> Delivery
    private let wake = DispatchSemaphore(value: 0)
    /// A wake-up is pending: enqueues signal `wake` only on false -> true, so a burst of them
    /// wakes the sender once instead of once per batch.
    private let wakePending = Atomic(false)
    private let finished = DispatchSemaphore(value: 0)
    private let lifecycle = Mutex<(started: Bool, shutDown: Bool)>((false, false))

    /// - Parameter deliver: sends batches (serialized requests, oldest first) as one request,
    ///   retrying until delivered, dropped or interrupted (never giving up).
    public init(queue: DiskQueue, options: Options, stop: StopSignal, clock: any MonotonicClock, logger: Logger,
                label: String, deliver: @escaping @Sendable ([[UInt8]]) -> Delivery) {
        self.queue = queue
        self.options = options
        self.stop = stop
        self.clock = clock
        self.logger = logger
        self.label = label
        self.deliver = deliver
    }

    public func start() {
        let start = lifecycle.withLock { state -> Bool in
            guard !state.started, !state.shutDown else { return false }
            state.started = true
            return true
        }
        guard start else { return }
        DispatchQueue(label: label).async { [self] in
            run()
            queue.close()
            finished.signal()
        }
    }

    /// Appends `payload` to the disk queue; a retryable error when it cannot (a full disk).
    public func enqueue(_ payload: [UInt8], exporter: String) throws(ComponentError) {
        guard payload.count <= DiskQueue.maxRecordBytes else {
            throw .permanent("\(exporter): a batch of \(payload.count) bytes is too large for the disk queue; lower the batch processor's send_batch_max_size")
        }
        do {
            try queue.append(payload)
        } catch {
            throw .retryable("\(exporter): \(error)")
        }
        if !wakePending.exchange(true, ordering: .sequentiallyConsistent) { wake.signal() }
    }

    /// Stops the loop and waits for it up to the shutdown timeout.
    public func shutdown() {
        let wasStarted = lifecycle.withLock { state -> Bool? in
            guard !state.shutDown else { return nil }
            state.shutDown = true
            return state.started
        }
        guard let wasStarted else { return }
        stop.stop()
        wake.signal()
        if wasStarted {
            if finished.wait(timeout: .now() + .nanoseconds(Int(min(options.shutdownTimeout, UInt64(Int.max))))) == .timedOut {
                logger.warn("shutdown: the sender did not finish in time; the rest stays queued on disk (the queue closes when the current send ends)")
            }
        } else {
            queue.close()
        }
    }

    /// Runs until stopped and, once stopped, until the queue is empty, a send fails, or the
    /// shutdown deadline passed.
    private func run() {
        var waitingSince: UInt64?
        var stopDeadline: UInt64?
        while true {
            let stopping = stop.isStopped
            if stopping {
                let deadline = stopDeadline ?? clock.now() + options.shutdownTimeout
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
            if !stopping && size.bytes < options.batchMaxBytes {
                let first = waitingSince ?? clock.now()
                waitingSince = first
                let elapsed = clock.now() - first
                if elapsed < options.batchTimeout {
                    _ = wake.wait(timeout: .now() + .nanoseconds(Int(options.batchTimeout - elapsed)))
                    wakePending.store(false, ordering: .sequentiallyConsistent)
                    continue
                }
            }
            waitingSince = nil
            let payloads: [[UInt8]]
            do {
                payloads = try queue.peek(maxBytes: options.batchMaxBytes)
            } catch {
                logger.error("\(error)")
                if !stop.sleep(1_000_000_000) { return }
                continue
            }
            switch deliver(payloads) {
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
