import CollectorCore

/// The disk queues of an exporter that sends several signals (the OTLP exporters): with
/// `sending_queue.storage`, one crash-safe `DiskQueue` per signal (`<storage>/traces`,
/// `<storage>/logs`) and its `QueueSender`, whose deliveries merge queued requests (serialized
/// OTLP requests concatenate) up to `batchMaxBytes`; their sizes as
/// `collectord_exporter_disk_queue_batches` / `_bytes{exporter,data_type}`. Without storage
/// there are none, and the exporter sends synchronously. Thread-safe.
public final class SignalQueues: Sendable {
    private let senders: [Signal: QueueSender]
    private let registry: MetricsRegistry
    private let callbackIDs: [(String, [(String, String)], UInt64)]

    /// Opens (and recovers) the queues; a permanent error when one cannot be opened.
    /// - Parameter deliver: sends a signal's queued requests as one, never giving up.
    public init(settings: QueueSettings, signals: [Signal], exporter name: String, lockWait: UInt64, batchMaxBytes: Int,
                shutdownTimeout: UInt64, stop: StopSignal, clock: any MonotonicClock, logger: Logger, registry: MetricsRegistry,
                deliver: @escaping @Sendable (Signal, [[UInt8]]) -> Delivery) throws(ComponentError) {
        self.registry = registry
        var senders: [Signal: QueueSender] = [:]
        var callbackIDs: [(String, [(String, String)], UInt64)] = []
        if let storage = settings.storage, settings.enabled {
            for signal in signals {
                let directory = storage + "/\(signal)"
                let queue: DiskQueue
                do {
                    queue = try DiskQueue(directory: directory, segmentMaxBytes: settings.segmentMaxBytes,
                                          sync: settings.syncEveryBatch, lockWait: lockWait)
                } catch {
                    throw .permanent("\(name): \(error)")
                }
                let size = queue.size
                if size.records > 0 || queue.corruptBytes > 0 {
                    logger.info("disk queue \(directory): \(size.records) batches (\(size.bytes) bytes) to send; \(queue.corruptBytes) corrupt bytes skipped")
                }
                senders[signal] = QueueSender(queue: queue, options: .init(batchMaxBytes: batchMaxBytes, batchTimeout: 0,
                                                                          shutdownTimeout: shutdownTimeout),
                                              stop: stop, clock: clock, logger: logger, label: "collectord.\(name).\(signal)") { payloads in
                    deliver(signal, payloads)
                }
                // (otelcol_exporter_queue_size is the pipeline stage's ring, in front of this.)
                let labels = [("exporter", name), ("data_type", "\(signal)")]
                callbackIDs.append(("collectord_exporter_disk_queue_batches", labels,
                                    registry.callback("collectord_exporter_disk_queue_batches", help: "Batches waiting in the exporter's disk queue.",
                                                      labels: labels) { Double(queue.size.records) }))
                callbackIDs.append(("collectord_exporter_disk_queue_bytes", labels,
                                    registry.callback("collectord_exporter_disk_queue_bytes", help: "Bytes waiting in the exporter's disk queue.",
                                                      labels: labels) { Double(queue.size.bytes) }))
            }
        }
        self.senders = senders
        self.callbackIDs = callbackIDs
    }

    /// Whether batches are queued on disk (else the exporter sends them itself).
    public var isEnabled: Bool { !senders.isEmpty }

    public func start() {
        for sender in senders.values { sender.start() }
    }

    /// Queues `payload` when `signal` has a queue; false when it has none.
    public func enqueue(_ payload: [UInt8], signal: Signal, exporter: String) throws(ComponentError) -> Bool {
        guard let sender = senders[signal] else { return false }
        try sender.enqueue(payload, exporter: exporter)
        return true
    }

    public func shutdown() {
        for sender in senders.values { sender.shutdown() }
        for (metric, labels, id) in callbackIDs { registry.removeCallback(metric, labels: labels, id: id) }
    }
}
