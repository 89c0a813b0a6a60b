import BackendResolver
import CollectorCore
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import ExporterHelper
import OTLPExporter
import Synchronization

/// The `loadbalancing` exporter: sends each trace whole to one gateway, chosen by trace id on
/// the OTel Collector's consistent-hash ring (`HashRing`), so that tail sampling and the store
/// on the gateways see whole traces, and a mixed fleet with Go collectors routes alike.
///
/// The resolver is asked at start (so the ring exists before the first export) and then every
/// `interval` (DNS); a changed answer rebuilds the ring (`Balancer.update`). Each batch is split
/// per backend and sent over OTLP/gRPC (one `OTLPGRPCSender` per gateway); what fails is retried
/// by the ring of that moment, so data queued or in retry for a gateway that left goes to its
/// new owner, and what a gateway accepted is not sent again (see `Balancer`).
///
/// Without a disk queue `export` delivers synchronously up to `retry_on_failure.max_elapsed_time`
/// (the client is answered once every share is on its gateway); with `sending_queue.storage`
/// the batch is appended to the signal's disk queue and the client answered then; the queue's
/// sender delivers, re-routing and retrying for as long as it takes.
///
/// Lifecycle: `start` resolves and starts the timer and senders; `shutdown` (idempotent, safe
/// without `start`) stops them, leaving what is queued on disk.
public final class LoadBalancingExporter: SlottedExporter {
    let settings: LoadBalancingSettings
    let balancer: Balancer
    private let resolver: any Resolver
    /// The k8s resolver's watch (it pushes changes; no timer).
    private let watch: K8sResolver?
    private let interval: UInt64?
    private let queues: SignalQueues
    private let retrier: Retrier
    private let stop = StopSignal()
    private let shutDown = Atomic(false)
    private let timer = Mutex<(any DispatchSourceTimer)?>(nil)
    private let name: String
    private let logger: Logger
    private let metrics: Balancer.Metrics
    /// Deliveries in flight without a disk queue (`sending_queue.num_consumers` of them).
    public let slots: SenderSlots

    public init(settings: LoadBalancingSettings, name: String = "loadbalancing", logger: Logger, metrics registry: MetricsRegistry,
                clock: any MonotonicClock = SystemClock()) throws(ComponentError) {
        self.settings = settings
        self.name = name
        self.logger = logger
        let resolverKind: String = switch settings.resolver {
        case .fixed: "static"
        case .dns: "dns"
        case .k8s: "k8s"
        }
        let metrics = Balancer.Metrics(registry: registry, resolver: resolverKind)
        self.metrics = metrics
        let otlp = settings.otlp
        let partiallyRejected: @Sendable (Signal, Int) -> Void = { signal, count in
            registry.counter("collectord_otlp_exporter_partially_rejected_items_total", help: "Items the server rejected in a partial_success answer.",
                             labels: [("exporter", name), ("signal", "\(signal)")]).add(count)
        }
        let balancer = Balancer(metrics: metrics, clock: clock, logger: logger) { endpoint in
            GatewayBackend(endpoint: endpoint, settings: otlp, logger: logger, partiallyRejected: partiallyRejected)
        }
        self.balancer = balancer
        switch settings.resolver {
        case .fixed(let hostnames):
            resolver = StaticResolver(hostnames)
            watch = nil
            interval = nil
        case .dns(let hostname, let port, let every):
            resolver = DNSResolver(hostname: hostname, port: port)
            watch = nil
            interval = every
        case .k8s(let k8s):
            do throws(ResolverError) {
                let watcher = try K8sResolver(settings: k8s, environment: K8sResolver.processEnvironment(), logger: logger) { endpoints in
                    metrics.resolutions(success: true).increment()
                    balancer.update(endpoints)
                }
                resolver = watcher
                watch = watcher
            } catch {
                throw .permanent("\(name): \(error)")
            }
            interval = nil
        }
        let retrier = Retrier(settings: settings.retry, clock: clock, stop: stop)
        self.retrier = retrier
        slots = SenderSlots(count: settings.queue.numConsumers, label: "collectord.\(name).send")
        let keys = settings
        queues = try SignalQueues(settings: settings.queue, signals: [.traces, .logs], exporter: name,
                                  lockWait: otlp.timeout + 1_000_000_000, batchMaxBytes: settings.batchMaxBytes,
                                  shutdownTimeout: settings.shutdownTimeout, stop: stop, clock: clock, logger: logger,
                                  registry: registry) { signal, payloads in
            var merged = payloads.count == 1 ? payloads[0] : []
            if payloads.count > 1 { for payload in payloads { merged += payload } }
            return balancer.deliver(merged, signal: signal, key: keys.key(for: signal), retrier: retrier, giveUpAfter: nil)
        }
    }

    public func start() throws {
        guard !shutDown.load(ordering: .relaxed) else { return }
        if let watch {
            watch.start()
            // The first list before the first export, when the API answers in time.
            if !watch.waitForSync(timeoutNanos: 5_000_000_000) { logger.warn("k8s resolver: no list of the gateways yet; exports wait for one") }
        } else {
            resolve()
        }
        if let interval {
            timer.withLock { timer in
                let source = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
                source.schedule(deadline: .now() + .nanoseconds(Int(clamping: interval)), repeating: .nanoseconds(Int(clamping: interval)))
                source.setEventHandler { [weak self] in self?.resolve() }
                source.resume()
                timer = source
            }
        }
        queues.start()
    }

    /// Asks the resolver and installs its answer (a failure keeps the current ring).
    func resolve() {
        switch resolver.resolve() {
        case .success(let endpoints):
            metrics.resolutions(success: true).increment()
            balancer.update(endpoints)
        case .failure(let error):
            metrics.resolutions(success: false).increment()
            logger.warn("\(resolver.kind) resolver: \(error) (keeping the current backends)")
        }
    }

    public func export(_ batch: TelemetryBatch) throws(ComponentError) {
        guard !batch.payload.isEmpty else { return }
        if try queues.enqueue(batch.payload, signal: batch.signal, exporter: name) { return }
        try balancer.deliver(batch.payload, signal: batch.signal, key: settings.key(for: batch.signal), retrier: retrier,
                             giveUpAfter: settings.retry.maxElapsedTime).throwIfFailed(exporter: name)
    }

    /// With disk queues `export` only appends; without, each export blocks its thread until
    /// every gateway answered, so stages take turns (one blocked thread per exporter at most).
    public var exportsConcurrently: Bool { queues.isEnabled }


    public func shutdown() {
        guard !shutDown.exchange(true, ordering: .relaxed) else { return }
        stop.stop()
        timer.withLock { $0?.cancel(); $0 = nil }
        watch?.stop()
        queues.shutdown()
        balancer.close()
    }
}

/// One gateway over OTLP/gRPC (the `otlp` exporter's sender).
struct GatewayBackend: Backend {
    let sender: OTLPGRPCSender?
    let failure: String

    init(endpoint: String, settings: OTLPExporterSettings, logger: Logger, partiallyRejected: @escaping @Sendable (Signal, Int) -> Void) {
        var settings = settings
        settings.endpoint = endpointWithPort(endpoint, 4317)
        if let (host, port) = settings.hostAndPort {
            do throws(ComponentError) {
                sender = try OTLPGRPCSender(host: host, port: port, settings: settings, logger: logger, partiallyRejected: partiallyRejected)
                failure = ""
            } catch {
                sender = nil
                failure = error.message
            }
        } else {
            sender = nil
            failure = "invalid endpoint \(endpoint)"
        }
    }

    func send(_ payload: [UInt8], signal: Signal, completion: @escaping @Sendable (SendAttempt) -> Void) {
        guard let sender else { return completion(.retry(after: nil, failure)) }
        sender.send(payload, signal: signal, completion: completion)
    }

    func close() { sender?.close() }
}
