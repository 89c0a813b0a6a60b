import CollectorCore
import HTTPClient
import Dispatch
import Synchronization

/// The `loki` exporter: pushes log records to Loki's `/loki/api/v1/push`.
///
/// ## With `sending_queue.storage` (the persistent queue)
/// `export` appends the batch (its serialized OTLP logs request, as it came) to a
/// `LokiDiskQueue` (fsynced with `sync: always`) and returns: the batch is durably handled, the
/// client gets its answer. A sender loop on its own queue reads the oldest batches (up to
/// `batch_max_bytes`, waiting up to `batch_timeout` for more), converts them to Loki streams,
/// pushes them and retries 429/5xx/connection errors for as long as it takes (the disk queue
/// bounds nothing but the disk: an outage of hours loses nothing; `max_elapsed_time` does not
/// drop). The queue's cursor moves past the batches only once Loki answered 2xx or rejected
/// them permanently (then they are counted as dropped and the answer logged), so a restart
/// resends what was not confirmed: delivery is at least once, exactly once unless the process
/// dies between Loki's answer and the cursor write.
///
/// ## Without it
/// `export` itself converts, pushes and retries (synchronously, on the exporter stage's queue,
/// which holds back the pipeline meanwhile), up to `max_elapsed_time`; then it throws a
/// retryable error, and a permanent rejection throws a permanent one (both reach the client).
/// Nothing is buffered, so `batch_timeout` and `batch_max_bytes` do not apply: size batches with
/// the `batch` processor.
///
/// ## Lifecycle
/// `start` starts the sender loop. `shutdown` (idempotent, safe without `start`) lets the
/// sender push what is queued for up to `shutdown_timeout`, stopping at the first failure;
/// what is left stays on disk for the next start.
public final class LokiExporter: Exporter {
    let settings: LokiSettings
    let sender: LokiSender
    private let queue: LokiDiskQueue?
    let stop = LokiStopSignal()
    let wake = DispatchSemaphore(value: 0)
    /// A wake-up is pending: exports signal `wake` only on false -> true, so a burst of them
    /// wakes the sender once instead of once per batch.
    let wakePending = Atomic(false)
    private let finished = DispatchSemaphore(value: 0)
    private let lifecycle = Mutex<(started: Bool, shutDown: Bool)>((false, false))
    private let metrics: LokiMetrics
    private let callbackIDs: [(String, UInt64)]
    let logger: Logger
    let clock: any MonotonicClock

    /// Opens (and recovers) the disk queue when configured; throws a permanent error when it
    /// cannot.
    public init(settings: LokiSettings, name: String = "loki", logger: Logger, metrics registry: MetricsRegistry,
                clock: any MonotonicClock = SystemClock()) throws(ComponentError) {
        guard let (endpoint, path) = LokiEndpoint.parse(settings.endpoint) else {
            throw .permanent("loki: invalid endpoint \(settings.endpoint)")
        }
        self.settings = settings
        self.logger = logger
        self.clock = clock
        metrics = LokiMetrics(registry: registry, exporter: name)
        let client: HTTPClient
        do {
            client = try HTTPClient(endpoint: endpoint, tls: settings.tls, timeoutNanos: settings.timeout, maxIdleConnections: 1)
        } catch {
            throw .permanent("loki: \(error)")
        }
        sender = LokiSender(settings: settings, client: client, path: path,
                            builder: LokiStreamBuilder(resourceLabels: settings.resourceLabels, attributeLabels: settings.attributeLabels),
                            transcoder: LokiTranscoder(resourceLabels: settings.resourceLabels, attributeLabels: settings.attributeLabels),
                            policy: LokiRetryPolicy(settings.retry), metrics: metrics, logger: logger, stop: stop, clock: clock)
        if let storage = settings.storage {
            let queue: LokiDiskQueue
            do {
                // A predecessor's sender may still be in its last push (bounded by `timeout`).
                queue = try LokiDiskQueue(directory: storage, segmentMaxBytes: settings.segmentMaxBytes, sync: settings.syncEveryBatch,
                                          lockWait: settings.timeout + 1_000_000_000)
            } catch {
                throw .permanent("loki: \(error)")
            }
            self.queue = queue
            let size = queue.size
            if size.records > 0 || queue.corruptBytes > 0 {
                logger.info("disk queue \(storage): \(size.records) batches (\(size.bytes) bytes) to send; \(queue.corruptBytes) corrupt bytes skipped")
            }
            let labels = [("exporter", name)]
            callbackIDs = [
                ("otelcol_exporter_queue_size", registry.callback("otelcol_exporter_queue_size", help: "Batches waiting in the exporter's queue.",
                                                                  labels: labels) { Double(queue.size.records) }),
                ("collectord_loki_queue_bytes", registry.callback("collectord_loki_queue_bytes", help: "Bytes waiting in the Loki disk queue.",
                                                                  labels: labels) { Double(queue.size.bytes) }),
            ]
        } else {
            queue = nil
            callbackIDs = []
        }
    }

    public func start() throws {
        let startLoop = lifecycle.withLock { state -> Bool in
            guard !state.started, !state.shutDown else { return false }
            state.started = true
            return queue != nil
        }
        guard startLoop, let queue else { return }
        DispatchQueue(label: "collectord.loki.sender").async { [self] in
            runSender(queue)
            // Closed (and its directory lock released) only once the sender is done with it: a
            // sender still pushing after a timed-out shutdown must not commit into a directory
            // another exporter may already own.
            queue.close()
            finished.signal()
        }
    }

    public func export(_ batch: TelemetryBatch) throws(ComponentError) {
        guard batch.signal == .logs, !batch.payload.isEmpty else { return }
        if let queue {
            guard batch.payload.count <= LokiDiskQueue.maxRecordBytes else {
                throw .permanent("loki: a batch of \(batch.payload.count) bytes is too large for the disk queue; lower the batch processor's send_batch_max_size")
            }
            do {
                try queue.append(batch.payload)
            } catch {
                throw .retryable("loki: \(error)")
            }
            if !wakePending.exchange(true, ordering: .sequentiallyConsistent) { wake.signal() }
            return
        }
        switch sender.deliver([batch.payload], giveUpAfter: settings.retry.maxElapsedTime) {
        case .delivered: return
        case .dropped(let why): throw .permanent("loki: \(why)")
        case .gaveUp(let why): throw .retryable("loki: \(why)")
        case .interrupted: throw .retryable("loki: shutting down")
        }
    }

    /// With the disk queue, `export` only appends to it (under its lock); without it, pushes from
    /// several stages would interleave their retries, so they take turns.
    public var exportsConcurrently: Bool { queue != nil }

    public func shutdown() {
        let wasStarted = lifecycle.withLock { state -> Bool? in
            guard !state.shutDown else { return nil }
            state.shutDown = true
            return state.started
        }
        guard let wasStarted else { return }
        stop.stop()
        wake.signal()
        if wasStarted, queue != nil {
            if finished.wait(timeout: .now() + .nanoseconds(Int(min(settings.shutdownTimeout, UInt64(Int.max))))) == .timedOut {
                logger.warn("shutdown: the sender did not finish in time; the rest stays queued on disk (the queue closes when the current push ends)")
            }
        } else {
            queue?.close()
        }
        sender.client.closeIdle()
        for (name, id) in callbackIDs {
            metrics.registry.removeCallback(name, labels: [("exporter", metrics.exporter)], id: id)
        }
    }
}
