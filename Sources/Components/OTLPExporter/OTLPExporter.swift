import CollectorCore
import ExporterHelper
import Synchronization

/// The `otlp` exporter: sends spans and log records to another collector (a gateway) or any
/// OTLP/gRPC server, over one HTTP/2 connection (h2c with `tls.insecure`, else TLS with ALPN h2)
/// that carries many calls at once.
///
/// Without a disk queue `export` sends synchronously, retrying what is retryable for up to
/// `retry_on_failure.max_elapsed_time`, and then tells the client (retryable) or, for a
/// refusal, drops (permanent): the client is answered once the next hop took the data. With
/// `sending_queue.storage` it appends to the signal's crash-safe disk queue and returns (the
/// client is answered once the data is on disk), and the queue's sender sends and retries for
/// as long as it takes (see `SignalQueues`).
///
/// Lifecycle: `start` starts the senders; `shutdown` (idempotent, safe without `start`) lets
/// them send what is queued for up to `shutdown_timeout`, the rest stays on disk.
public final class OTLPExporter: SlottedExporter {
    let settings: OTLPExporterSettings
    let sender: OTLPGRPCSender
    private let retrier: Retrier
    private let queues: SignalQueues
    private let stop = StopSignal()
    private let shutDown = Atomic(false)
    private let name: String
    private let logger: Logger
    private let retries: Counter
    /// Deliveries in flight without a disk queue (`sending_queue.num_consumers` of them).
    public let slots: SenderSlots

    public init(settings: OTLPExporterSettings, name: String = "otlp", logger: Logger, metrics registry: MetricsRegistry,
                clock: any MonotonicClock = SystemClock()) throws(ComponentError) {
        guard let (host, port) = settings.hostAndPort else { throw .permanent("\(name): invalid endpoint \(settings.endpoint)") }
        self.settings = settings
        self.name = name
        self.logger = logger
        retries = registry.counter("collectord_otlp_exporter_retries_total", help: "OTLP/gRPC exports retried.", labels: [("exporter", name)])
        let rejected: @Sendable (Signal) -> Counter = { signal in
            registry.counter("collectord_otlp_exporter_partially_rejected_items_total", help: "Items the server rejected in a partial_success answer.",
                             labels: [("exporter", name), ("signal", "\(signal)")])
        }
        let sender: OTLPGRPCSender
        do {
            sender = try OTLPGRPCSender(host: host, port: port, settings: settings, logger: logger) { signal, count in rejected(signal).add(count) }
        } catch {
            throw .permanent("\(name): \(error.message)")
        }
        self.sender = sender
        let retrier = Retrier(settings: settings.retry, clock: clock, stop: stop)
        self.retrier = retrier
        slots = SenderSlots(count: settings.queue.numConsumers, label: "collectord.\(name).send")
        let retries = self.retries
        queues = try SignalQueues(settings: settings.queue, signals: Signal.allCases, exporter: name,
                                  lockWait: settings.timeout + 1_000_000_000, batchMaxBytes: settings.batchMaxBytes,
                                  shutdownTimeout: settings.shutdownTimeout, stop: stop, clock: clock, logger: logger,
                                  registry: registry) { signal, payloads in
            Self.deliver(payloads, signal: signal, sender: sender, retrier: retrier, retries: retries, logger: logger, giveUpAfter: nil)
        }
    }

    public func start() throws {
        guard !shutDown.load(ordering: .relaxed) else { return }
        queues.start()
    }

    public func export(_ batch: TelemetryBatch) throws(ComponentError) {
        guard !batch.payload.isEmpty else { return }
        if try queues.enqueue(batch.payload, signal: batch.signal, exporter: name) { return }
        try Self.deliver([batch.payload], signal: batch.signal, sender: sender, retrier: retrier, retries: retries, logger: logger,
                         giveUpAfter: settings.retry.maxElapsedTime).throwIfFailed(exporter: name)
    }

    /// Sends `payloads` merged into one request, retrying per `retrier`.
    static func deliver(_ payloads: [[UInt8]], signal: Signal, sender: OTLPGRPCSender, retrier: Retrier, retries: Counter,
                        logger: Logger, giveUpAfter: UInt64?) -> Delivery {
        var merged = payloads.count == 1 ? payloads[0] : []
        if payloads.count > 1 { for payload in payloads { merged += payload } }
        return retrier.run(giveUpAfter: giveUpAfter, onRetry: { attempt, delay, why in
            retries.increment()
            logger.warn("\(why); retry \(attempt) in \(delay / 1_000_000)ms")
        }) { sender.send(merged, signal: signal) }
    }

    /// With disk queues `export` only appends; without, each export blocks its thread until
    /// the server answers, so stages take turns (one blocked thread per exporter at most).
    public var exportsConcurrently: Bool { queues.isEnabled }


    public func shutdown() {
        guard !shutDown.exchange(true, ordering: .relaxed) else { return }
        stop.stop()
        queues.shutdown()
        sender.close()
    }
}
