import CollectorCore
import Dispatch
import Synchronization
import SystemIO

/// The `filelog` receiver: tails files matching globs and sends their lines as log records.
///
/// Concurrency: all tailing state lives in a `Tailer` confined to one serial queue; a timer on
/// that queue polls every `poll_interval`, and acknowledgements hop onto it. See `Tailer` for
/// identity, rotation, truncation, checkpoints and backpressure.
///
/// Lifecycle: `start` creates the storage directory, loads the checkpoint and starts the timer
/// (throws when the storage directory cannot be created or the checkpoint read). `stopAccepting`
/// stops reading. `shutdown` stops reading, waits (until `deadline`) for the batches in flight to
/// be acknowledged, writes the checkpoint, closes the files and then calls `completion`.
/// Idempotent and safe without `start`.
public final class FileLogReceiver: Receiver {
    public let name: String
    private let queue: DispatchQueue
    private let state: QueueConfined<Tailer>?
    private let initError: (any Error)?
    private let lifecycle = Mutex<Phase>(.idle)
    private let settings: FileLogSettings
    private let checkpointWriter: CheckpointWriter?

    private enum Phase { case idle, running, stopped }

    public init(name: String, settings: FileLogSettings, metrics: MetricsRegistry, logger: Logger) {
        self.name = name
        self.settings = settings
        let queue = DispatchQueue(label: "collectord.filelog.\(name)")
        self.queue = queue
        do {
            let tailer = try Tailer(name: name, settings: settings, logger: logger,
                                    metrics: FileLogMetrics(registry: metrics, receiver: name))
            let box = QueueConfined(tailer, queue: queue)
            tailer.box = box
            self.state = box
            self.checkpointWriter = tailer.checkpointWriter
            self.initError = nil
        } catch {
            self.state = nil
            self.checkpointWriter = nil
            self.initError = error
        }
    }

    public func setConsumer(_ consumer: (any Consumer)?, for signal: Signal) {
        guard signal == .logs else { return }
        state?.async { tailer in
            tailer.consumer = consumer
            tailer.drainOutbox()
        }
    }

    public func start() throws {
        if let initError { throw initError }
        guard let state else { return }
        let proceed = lifecycle.withLock { phase -> Bool in
            guard phase == .idle else { return false }
            phase = .running
            return true
        }
        guard proceed else { return }
        let interval = DispatchTimeInterval.nanoseconds(Int(settings.pollInterval))
        try queue.sync {
            let tailer = state.onQueue
            try tailer.load()
            let t = DispatchSource.makeTimerSource(queue: queue)
            t.schedule(deadline: .now(), repeating: interval, leeway: .milliseconds(1))
            t.setEventHandler { state.onQueue.poll() }
            tailer.timer = t
            t.resume()
            tailer.startWatching(queue: queue)
        }
    }

    public func stopAccepting() {
        state?.async { $0.reading = false }
    }

    public func shutdown(deadline: DispatchTime, completion: @escaping @Sendable () -> Void) {
        let wasRunning = lifecycle.withLock { phase -> Bool in
            defer { phase = .stopped }
            return phase == .running
        }
        guard wasRunning, let state else { completion(); return }
        state.async { $0.reading = false }
        Self.waitForAcks(state, deadline: deadline) {
            state.onQueue.close()
            completion()
        }
    }

    /// Polls the queue until nothing is in flight or `deadline` passed, then runs `done` on it.
    private static func waitForAcks(_ state: QueueConfined<Tailer>, deadline: DispatchTime, done: @escaping @Sendable () -> Void) {
        state.async { tailer in
            tailer.drainOutbox()
            if tailer.inFlightCount == 0 || DispatchTime.now() >= deadline {
                done()
            } else {
                state.queue.asyncAfter(deadline: .now() + .milliseconds(10)) {
                    waitForAcks(state, deadline: deadline, done: done)
                }
            }
        }
    }

    /// The checkpoint (see `Receiver.persistsState`).
    public var persistsState: Bool { true }

    public func holdState() {
        checkpointWriter?.hold()
    }

    public func releaseState() {
        checkpointWriter?.release()
    }

    public func abandonState() {
        checkpointWriter?.closeAndWait()
    }

    /// Test hook: stops as a `kill -9` would, without waiting or writing anything more.
    func crash() {
        lifecycle.withLock { $0 = .stopped }
        guard let state else { return }
        queue.sync { state.onQueue.crash() }
    }

    /// Test hook: runs `body` on the tailer's queue.
    func inspect<T: Sendable>(_ body: @Sendable (Tailer) -> T) -> T? {
        guard let state else { return nil }
        return queue.sync { body(state.onQueue) }
    }
}

extension Tailer {
    /// Final checkpoint and closing every file (clean shutdown).
    func close() {
        stop(finalCheckpoint: true)
    }

    /// Drops everything without a last checkpoint (simulated `kill -9` right after the
    /// checkpoint writes already submitted reached the disk).
    func crash() {
        stop(finalCheckpoint: false)
        // Late acknowledgements find no file and change nothing on disk.
        checkpointDirty = false
    }

    private func stop(finalCheckpoint: Bool) {
        timer?.cancel()
        timer = nil
        reading = false
        if finalCheckpoint { writeCheckpoint() }
        checkpointWriter.flush()
        checkpointWriter.close()
        watcher?.close()
        watcher = nil
        closed = true
        for (_, f) in files where f.isOpen { Sys.close(f.fd) }
        files.removeAll()
        outbox.removeAll()
        consumer = nil
    }
}
