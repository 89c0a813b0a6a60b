import CollectorCore
import ExporterHelper
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
    /// The disk queue's sender (with `sending_queue.storage`).
    private let queued: QueueSender?
    let stop = StopSignal()
    private let shutDown = Atomic(false)
    private let metrics: LokiMetrics
    private let callbackIDs: [(String, UInt64)]
    let logger: Logger

    /// Opens (and recovers) the disk queue when configured; throws a permanent error when it
    /// cannot.
    public init(settings: LokiSettings, name: String = "loki", logger: Logger, metrics registry: MetricsRegistry,
                clock: any MonotonicClock = SystemClock()) throws(ComponentError) {
        guard let (endpoint, path) = LokiEndpoint.parse(settings.endpoint) else {
            throw .permanent("loki: invalid endpoint \(settings.endpoint)")
        }
        self.settings = settings
        self.logger = logger
        metrics = LokiMetrics(registry: registry, exporter: name)
        let client: HTTPClient
        do {
            client = try HTTPClient(endpoint: endpoint, tls: settings.tls, timeoutNanos: settings.timeout, maxIdleConnections: 1)
        } catch {
            throw .permanent("loki: \(error)")
        }
        let sender = LokiSender(settings: settings, client: client, path: path,
                                builder: LokiStreamBuilder(resourceLabels: settings.resourceLabels, attributeLabels: settings.attributeLabels),
                                transcoder: LokiTranscoder(resourceLabels: settings.resourceLabels, attributeLabels: settings.attributeLabels),
                                retrier: Retrier(settings: settings.retry, clock: clock, stop: stop), metrics: metrics, logger: logger)
        self.sender = sender
        if let storage = settings.storage {
            let queue: DiskQueue
            do {
                // A predecessor's sender may still be in its last push (bounded by `timeout`).
                queue = try DiskQueue(directory: storage, segmentMaxBytes: settings.segmentMaxBytes, sync: settings.syncEveryBatch,
                                      lockWait: settings.timeout + 1_000_000_000)
            } catch {
                throw .permanent("loki: \(error)")
            }
            let size = queue.size
            if size.records > 0 || queue.corruptBytes > 0 {
                logger.info("disk queue \(storage): \(size.records) batches (\(size.bytes) bytes) to send; \(queue.corruptBytes) corrupt bytes skipped")
            }
            queued = QueueSender(queue: queue, options: .init(batchMaxBytes: settings.batchMaxBytes, batchTimeout: settings.batchTimeout,
                                                              shutdownTimeout: settings.shutdownTimeout),
                                 stop: stop, clock: clock, logger: logger, label: "collectord.loki.sender") { payloads in
                sender.deliver(payloads, giveUpAfter: nil)
            }
            let labels = [("exporter", name)]
            callbackIDs = [
                ("otelcol_exporter_queue_size", registry.callback("otelcol_exporter_queue_size", help: "Batches waiting in the exporter's queue.",
                                                                  labels: labels) { Double(queue.size.records) }),
                ("collectord_loki_queue_bytes", registry.callback("collectord_loki_queue_bytes", help: "Bytes waiting in the Loki disk queue.",
                                                                  labels: labels) { Double(queue.size.bytes) }),
            ]
        } else {
            queued = nil
            callbackIDs = []
        }
    }

    public func start() throws {
        guard !shutDown.load(ordering: .relaxed) else { return }
        queued?.start()
    }

    public func export(_ batch: TelemetryBatch) throws(ComponentError) {
        guard batch.signal == .logs, !batch.payload.isEmpty else { return }
        if let queued { return try queued.enqueue(batch.payload, exporter: "loki") }
        try sender.deliver([batch.payload], giveUpAfter: settings.retry.maxElapsedTime).throwIfFailed(exporter: "loki")
    }

    /// With the disk queue, `export` only appends to it (under its lock); without it, pushes from
    /// several stages would interleave their retries, so they take turns.
    public var exportsConcurrently: Bool { queued != nil }

    public func shutdown() {
        guard !shutDown.exchange(true, ordering: .relaxed) else { return }
        stop.stop()
        queued?.shutdown()
        sender.client.closeIdle()
        for (name, id) in callbackIDs {
            metrics.registry.removeCallback(name, labels: [("exporter", metrics.exporter)], id: id)
        }
    }
}
