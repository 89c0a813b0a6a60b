import CollectorCore
import Dispatch
import ExporterHelper
import HTTPClient
import Synchronization

/// The `otlphttp` exporter: sends spans and log records to another collector (or any OTLP/HTTP
/// server) as `POST /v1/traces` and `/v1/logs`.
///
/// ## Without a disk queue
/// `export` sends (synchronously, on the exporter stage's queue) and retries what is
/// retryable for up to `retry_on_failure.max_elapsed_time`; then it throws a retryable error,
/// and a refusal throws a permanent one: either way the client that sent the data is told
/// (end-to-end acknowledgement: it is answered only once the next hop has the data).
///
/// ## With `sending_queue.storage`
/// `export` appends the batch to the signal's crash-safe `DiskQueue` (`<storage>/traces`,
/// `<storage>/logs`) and returns, so the client is answered once the data is on disk; a
/// `QueueSender` per signal sends what is queued (merging queued batches up to 4 MiB a request)
/// and retries for as long as it takes. Nothing acknowledged is lost by a crash or an outage.
///
/// Lifecycle: `start` starts the senders; `shutdown` (idempotent, safe without `start`) lets
/// them send what is queued for up to `shutdown_timeout`, the rest stays on disk.
public final class OTLPHTTPExporter: Exporter {
    let settings: OTLPHTTPSettings
    private let senders: [Signal: OTLPHTTPSender]
    private let queued: [Signal: QueueSender]
    private let clients: [HTTPClient]
    private let stop = StopSignal()
    private let shutDown = Atomic(false)
    private let registry: MetricsRegistry
    private let name: String
    private let callbackIDs: [(String, [(String, String)], UInt64)]

    public init(settings: OTLPHTTPSettings, name: String = "otlphttp", logger: Logger, metrics registry: MetricsRegistry,
                clock: any MonotonicClock = SystemClock()) throws(ComponentError) {
        self.settings = settings
        self.registry = registry
        self.name = name
        var senders: [Signal: OTLPHTTPSender] = [:]
        var clients: [String: HTTPClient] = [:]
        let retrier = Retrier(settings: settings.retry, clock: clock, stop: stop)
        for signal in [Signal.traces, .logs] {
            guard let url = settings.url(for: signal) else { continue }
            guard var endpoint = HTTPEndpoint(url) else { throw .permanent("\(name): invalid endpoint \(url)") }
            // The client connects to the host; each signal's request carries its own path.
            let path = endpoint.path.isEmpty ? "/" : endpoint.path
            endpoint.path = ""
            let key = "\(endpoint.tls) \(endpoint.host) \(endpoint.port)"
            let client: HTTPClient
            if let known = clients[key] {
                client = known
            } else {
                do {
                    client = try HTTPClient(endpoint: endpoint, tls: endpoint.tls ? settings.tls : nil, timeoutNanos: settings.timeout,
                                            maxIdleConnections: max(1, min(settings.queue.numConsumers, 4)))
                } catch {
                    throw .permanent("\(name): \(error)")
                }
                clients[key] = client
            }
            senders[signal] = OTLPHTTPSender(signal: signal, client: client, path: path,
                                             settings: settings, retrier: retrier,
                                             metrics: OTLPHTTPMetrics(registry: registry, exporter: name, signal: signal), logger: logger)
        }
        self.senders = senders
        self.clients = Array(clients.values)
        var queued: [Signal: QueueSender] = [:]
        var callbackIDs: [(String, [(String, String)], UInt64)] = []
        if let storage = settings.queue.storage, settings.queue.enabled {
            for (signal, sender) in senders {
                let directory = storage + "/\(signal)"
                let queue: DiskQueue
                do {
                    queue = try DiskQueue(directory: directory, segmentMaxBytes: settings.queue.segmentMaxBytes,
                                          sync: settings.queue.syncEveryBatch, lockWait: settings.timeout + 1_000_000_000)
                } catch {
                    throw .permanent("\(name): \(error)")
                }
                let size = queue.size
                if size.records > 0 || queue.corruptBytes > 0 {
                    logger.info("disk queue \(directory): \(size.records) batches (\(size.bytes) bytes) to send; \(queue.corruptBytes) corrupt bytes skipped")
                }
                queued[signal] = QueueSender(queue: queue, options: .init(batchMaxBytes: settings.batchMaxBytes, batchTimeout: 0,
                                                                         shutdownTimeout: settings.shutdownTimeout),
                                             stop: stop, clock: clock, logger: logger, label: "collectord.\(name).\(signal)") { payloads in
                    sender.deliver(payloads, giveUpAfter: nil)
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
        self.queued = queued
        self.callbackIDs = callbackIDs
    }

    public func start() throws {
        guard !shutDown.load(ordering: .relaxed) else { return }
        for sender in queued.values { sender.start() }
    }

    public func export(_ batch: TelemetryBatch) throws(ComponentError) {
        guard !batch.payload.isEmpty else { return }
        if let queue = queued[batch.signal] { return try queue.enqueue(batch.payload, exporter: name) }
        guard let sender = senders[batch.signal] else { throw .permanent("\(name): no endpoint for \(batch.signal)") }
        switch sender.deliver([batch.payload], giveUpAfter: settings.retry.maxElapsedTime) {
        case .delivered: return
        case .dropped(let why): throw .permanent("\(name): \(why)")
        case .gaveUp(let why): throw .retryable("\(name): \(why)")
        case .interrupted: throw .retryable("\(name): shutting down")
        }
    }

    /// With disk queues `export` only appends (under the queue's lock); without, sends from
    /// several stages would interleave their retries, so they take turns.
    public var exportsConcurrently: Bool { !queued.isEmpty }

    public func shutdown() {
        guard !shutDown.exchange(true, ordering: .relaxed) else { return }
        stop.stop()
        for sender in queued.values { sender.shutdown() }
        for client in clients { client.closeIdle() }
        for (metric, labels, id) in callbackIDs { registry.removeCallback(metric, labels: labels, id: id) }
    }
}
