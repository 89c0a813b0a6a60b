import CollectorCore
import Dispatch
import ExporterHelper
import HTTPClient
import Synchronization

/// The `otlphttp` exporter: sends spans and log records to another collector (or any OTLP/HTTP
/// server) as `POST /v1/traces`, `/v1/logs` and `/v1/metrics`.
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
    private let queues: SignalQueues
    private let clients: [HTTPClient]
    private let stop = StopSignal()
    private let shutDown = Atomic(false)
    private let name: String

    public init(settings: OTLPHTTPSettings, name: String = "otlphttp", logger: Logger, metrics registry: MetricsRegistry,
                clock: any MonotonicClock = SystemClock()) throws(ComponentError) {
        self.settings = settings
        self.name = name
        var senders: [Signal: OTLPHTTPSender] = [:]
        var clients: [String: HTTPClient] = [:]
        let retrier = Retrier(settings: settings.retry, clock: clock, stop: stop)
        for signal in Signal.allCases {
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
        let built = senders
        queues = try SignalQueues(settings: settings.queue, signals: Array(senders.keys), exporter: name,
                                  lockWait: settings.timeout + 1_000_000_000, batchMaxBytes: settings.batchMaxBytes,
                                  shutdownTimeout: settings.shutdownTimeout, stop: stop, clock: clock, logger: logger,
                                  registry: registry) { signal, payloads in
            built[signal]!.deliver(payloads, giveUpAfter: nil)
        }
    }

    public func start() throws {
        guard !shutDown.load(ordering: .relaxed) else { return }
        queues.start()
    }

    public func export(_ batch: TelemetryBatch) throws(ComponentError) {
        guard !batch.payload.isEmpty else { return }
        if try queues.enqueue(batch.payload, signal: batch.signal, exporter: name) { return }
        guard let sender = senders[batch.signal] else { throw .permanent("\(name): no endpoint for \(batch.signal)") }
        try sender.deliver([batch.payload], giveUpAfter: settings.retry.maxElapsedTime).throwIfFailed(exporter: name)
    }

    /// With disk queues `export` only appends (under the queue's lock); without, sends from
    /// several stages would interleave their retries, so they take turns.
    public var exportsConcurrently: Bool { queues.isEnabled }

    public func shutdown() {
        guard !shutDown.exchange(true, ordering: .relaxed) else { return }
        stop.stop()
        queues.shutdown()
        for client in clients { client.closeIdle() }
    }
}
