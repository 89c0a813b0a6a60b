import CollectorCore
import Dispatch
import StoreExporter
import TailSampling
import Synchronization

/// Runs a `CollectorConfig`: builds pipelines, receivers and extensions, reloads them, and
/// shuts them down without losing accepted data.
///
/// Reload (`apply` on a running service), in this order, so nothing accepted is lost and kept
/// listeners never refuse a connection:
/// 1. Build and start the new pipelines. Exporters whose settings are unchanged are the running
///    instances (see `ExporterRegistry`); changed ones are new. On failure, tear the new
///    pipelines down and keep the old graph untouched.
/// 2. Receivers: keep those whose settings are unchanged; reconfigure in place those that can
///    (the OTLP receiver keeps every listener whose endpoint is unchanged); shut down removed
///    ones; create and start new ones. If one fails to start, the update is undone: receivers
///    reconfigured get their settings back, receivers shut down are started again from their
///    previous settings, and the old graph keeps running.
/// 3. Point every receiver at the new pipelines' entries.
/// 4. Shut the old pipelines down: they drain their rings and flush their batches into their
///    own exporters, whose acknowledgements still answer the clients that sent the data.
///    Pipelines fed through connectors are stopped only after every pipeline feeding them
///    (producers first), so what the old connectors pass on or flush still has a way out.
///
/// Connectors: pipelines are built consumers first (those a connector feeds before those it
/// exports from), so that each connector instance is made with the entries of its downstream
/// pipelines. Connector instances are built anew for every config (they are wired to the new
/// pipelines); the old ones drain into the old pipelines.
/// 5. Restart extensions and the metrics endpoint only where their settings changed.
///
/// Threading: every public method must be called from one serial queue (the daemon's control
/// queue); the state lives in a Mutex only so the type is Sendable.
public final class Service: Sendable {
    private struct Graph: Sendable {
        var config: CollectorConfig?
        var pipelines: [Pipeline] = []
        var receivers: [ComponentID: (settings: any ComponentSettings, receiver: any Receiver)] = [:]
        var extensions: [ComponentID: (settings: any ComponentSettings, ext: any Extension)] = [:]
        var metricsEndpoint: MetricsEndpoint?
        /// The running processor instances, by pipeline and id (see `buildPipelines`).
        var processors: [ProcessorKey: (settings: any ComponentSettings, processor: SerializedProcessor)] = [:]
    }

    /// A processor instance belongs to one pipeline: the key of the one a reload may keep.
    struct ProcessorKey: Hashable, Sendable {
        var pipeline: String
        var id: ComponentID
    }

    public let metrics: MetricsRegistry
    private let logger: Logger
    private let host = ComponentHost()
    private let graph = Mutex(Graph())
    /// Batches an exporter's ring holds when its settings have no `sending_queue.queue_size`.
    private let exporterQueueSize: Int
    private let stores: StoreRegistry
    private let exporters = ExporterRegistry()

    public init(metrics: MetricsRegistry = MetricsRegistry(), logger: Logger, stdout: StandardOutput = StandardOutput(),
                exporterQueueSize: Int = 64) {
        self.metrics = metrics
        self.logger = logger
        self.exporterQueueSize = exporterQueueSize
        self.stores = StoreRegistry(logger: logger.named("store"), metrics: metrics)
        host.provide(stores)
        host.provide(TextOutput { stdout.write($0) })
        host.provide(HoldLogRegistry())
        host.provide(AuthenticatorRegistry())
        ProcessMetrics.register(metrics)
    }

    private func context(_ id: ComponentID, _ kind: ComponentKind, _ config: CollectorConfig) -> ComponentContext {
        ComponentContext(id: id, kind: kind, metrics: metrics, logger: logger.named("\(kind.rawValue)/\(id)"),
                         config: config, host: host)
    }

    /// Starts `config`, or reloads to it when already running. Throws when the new config
    /// cannot run; the previous graph then keeps running unchanged. At the first start an
    /// extension or the metrics endpoint that cannot start (a busy port) is an error too, as in
    /// the OTel Collector (the caller exits); in a reload it is logged and the rest runs.
    public func apply(_ config: CollectorConfig) throws {
        var current = graph.withLock { $0 }
        let initial = current.config == nil
        let feedingInline = Set(current.pipelines.filter(\.feedsInline).map(\.name))
        let (pipelines, processors) = try buildPipelines(config, running: current.processors, feedingInline: feedingInline)
        do {
            try updateReceivers(config, pipelines: pipelines, graph: &current)
        } catch {
            abandon(pipelines, built: processors, running: current.processors)
            // `current` is the previous graph with its receivers restored (see updateReceivers).
            graph.withLock { $0 = current }
            throw error
        }
        let oldPipelines = current.pipelines
        let successors = successors(from: current.processors, to: processors, pipelines: pipelines)
        current.pipelines = pipelines
        current.processors = processors
        current.config = config
        let previous = graph.withLock { $0.config }
        StopOrder.producersFirst(oldPipelines, connections: previous?.connections ?? [], stop: { p, done in
            p.shutdown(successors: successors, completion: done)
        }) { [logger] in logger.debug("the pipelines of the previous config drained") }
        let failures = updateExtensions(config, graph: &current) + updateMetricsEndpoint(config, graph: &current)
        graph.withLock { $0 = current }
        if initial, !failures.isEmpty {
            throw ComponentError.permanent(failures.joined(separator: "; "))
        }
        for failure in failures { logger.error(failure) }
        for (_, e) in current.extensions { e.ext.pipelinesChanged(running: true) }
    }

    private typealias ProcessorMap = [ProcessorKey: (settings: any ComponentSettings, processor: SerializedProcessor)]

    /// Builds and starts the pipelines of `config`. A processor whose pipeline, id and settings
    /// are those of a running one is that instance (kept with its state, see `Processor`);
    /// the others are built and started here.
    ///
    /// Except a processor that passes data unchanged (`batch`) where the old pipeline fed its
    /// exporters inline (`feedingInline`, by name) or the new one has connectors (and so may
    /// feed them inline): what it holds was read, or not, by the old pipeline's inline exporters,
    /// and one batch mixing that with the new pipeline's requests could not say which part
    /// was (`TelemetryBatch.fedInline`). It is flushed by the old pipeline instead.
    private func buildPipelines(_ config: CollectorConfig, running: ProcessorMap,
                                feedingInline: Set<String> = []) throws -> ([Pipeline], ProcessorMap) {
        var built: [Pipeline] = []
        var byIndex = [Pipeline?](repeating: nil, count: config.pipelines.count)
        var processors: ProcessorMap = [:]
        // One handle source per connector instance in use, shared by its upstream pipelines.
        var connectors: [Int: ExporterRegistry] = [:]
        do {
            for index in config.consumersFirst {
                let pc = config.pipelines[index]
                let mayFeedInline = feedingInline.contains(pc.name) || pc.exporters.contains(where: config.isConnector)
                let chain = try pc.processors.map { id -> SerializedProcessor in
                    let key = ProcessorKey(pipeline: pc.name, id: id)
                    let settings = config.component(.processor, id)!.settings
                    if let kept = running[key], kept.settings.isSame(as: settings),
                       !(mayFeedInline && kept.processor.passesDataUnchanged) {
                        processors[key] = kept
                        return kept.processor
                    }
                    let processor = SerializedProcessor(try ComponentCatalog.makeProcessor(settings, context(id, .processor, config)))
                    processors[key] = (settings, processor)
                    try processor.start()
                    return processor
                }
                // Handles acquired for this pipeline are given back if a later exporter fails,
                // or the shared instances would never be shut down.
                var acquired: [any Exporter] = []
                var stages: [ExporterStage] = []
                do {
                    for id in pc.exporters where config.isConnector(id) {
                        let settings = config.component(.connector, id)!.settings
                        for (c, connection) in config.connections.enumerated()
                        where connection.connector == id && connection.upstream.contains(index) {
                            let registry = connectors[c] ?? ExporterRegistry()
                            connectors[c] = registry
                            let next = connection.downstream.map { byIndex[$0]!.entry }
                            let connector = try registry.acquire(id, settings: settings) {
                                try ComponentCatalog.makeConnector(settings, from: connection.from, to: connection.to,
                                                                   context(id, .connector, config),
                                                                   next: next.count == 1 ? next[0] : FanOutConsumer(next))
                            }
                            acquired.append(connector)
                            stages.append(ExporterStage(name: id.description, signal: pc.signal, exporter: connector,
                                                        capacity: exporterQueueSize, metrics: metrics,
                                                        logger: logger.named("connector/\(id)")))
                        }
                    }
                    stages += try pc.exporters.filter { !config.isConnector($0) }.map { id in
                        let settings = config.component(.exporter, id)!.settings
                        let exporter = try exporters.acquire(id, settings: settings) {
                            try ComponentCatalog.makeExporter(settings, context(id, .exporter, config))
                        }
                        acquired.append(exporter)
                        let capacity = (settings as? any ExporterQueueSettings)?.queueSize ?? exporterQueueSize
                        return ExporterStage(name: id.description, signal: pc.signal, exporter: exporter,
                                             capacity: capacity, metrics: metrics, logger: logger.named("exporter/\(id)"))
                    }
                } catch {
                    for exporter in acquired { exporter.shutdown() }
                    throw error
                }
                let pipeline = Pipeline(name: pc.name, signal: pc.signal, processors: chain, exporters: stages,
                                        capacity: config.limits.pipelineQueueSize, metrics: metrics,
                                        logger: logger.named("pipeline/\(pc.name)"))
                built.append(pipeline)
                byIndex[index] = pipeline
                try pipeline.start()
            }
        } catch {
            abandon(built, built: processors, running: running)
            throw error
        }
        // In config order: receivers are wired by zipping the config's pipelines with these.
        return (byIndex.map { $0! }, processors)
    }

    /// Tears down pipelines built for a config that will not run: the processors built for
    /// them are flushed and shut down, the running ones they share stay untouched.
    private func abandon(_ pipelines: [Pipeline], built: ProcessorMap, running: ProcessorMap) {
        var keep = ProcessorSuccessors()
        for (_, entry) in running { keep.kept.insert(ObjectIdentifier(entry.processor)) }
        let unstarted = built.filter { key, entry in !pipelines.contains { $0.name == key.pipeline } && running[key]?.processor !== entry.processor }
        for p in pipelines { p.shutdown(successors: keep) {} }
        // Built and started, but their pipeline was never made: nothing went through them.
        for (_, entry) in unstarted { entry.processor.shutdown() }
    }

    /// For the old pipelines' shutdown: which processors run on, and which successor takes a
    /// replaced processor's held data (same pipeline and id, new settings).
    private func successors(from old: ProcessorMap, to new: ProcessorMap, pipelines: [Pipeline]) -> ProcessorSuccessors {
        var result = ProcessorSuccessors()
        for (key, entry) in old {
            guard let next = new[key] else { continue }
            if next.processor === entry.processor {
                result.kept.insert(ObjectIdentifier(entry.processor))
            } else {
                let pipeline = pipelines.first { $0.name == key.pipeline }
                result.replacements[ObjectIdentifier(entry.processor)] = (next.processor, { pipeline?.wake() })
            }
        }
        return result
    }

    private func updateReceivers(_ config: CollectorConfig, pipelines: [Pipeline], graph: inout Graph) throws {
        let wanted = config.receiverIDs
        // What was changed, to undo it if a later receiver fails to start: receivers shut down
        // (removed or replaced) and reconfigured in place, with their previous settings.
        var stopped: [(ComponentID, any ComponentSettings, any Receiver)] = []
        var reconfigured: [(ComponentID, any ComponentSettings)] = []
        // Removed receivers first, so a new one may take over their endpoint.
        for (id, entry) in graph.receivers where !wanted.contains(id) {
            entry.receiver.stopAccepting()
            entry.receiver.shutdown(deadline: .now() + 30) {}
            graph.receivers[id] = nil
            stopped.append((id, entry.settings, entry.receiver))
        }
        var started: [ComponentID] = []
        do {
            for id in wanted.sorted() {
                let settings = config.component(.receiver, id)!.settings
                if let existing = graph.receivers[id] {
                    if existing.settings.isSame(as: settings) {
                        reloadCertificates(of: existing.receiver, "receiver \(id)")
                        continue
                    }
                    if try ComponentCatalog.reconfigure(existing.receiver, settings) {
                        graph.receivers[id] = (settings, existing.receiver)
                        reconfigured.append((id, existing.settings))
                        continue
                    }
                    existing.receiver.stopAccepting()
                    if existing.receiver.persistsState {
                        // Its successor resumes from the state it leaves (the filelog checkpoint):
                        // wait until its batches are acknowledged and the state is written, or
                        // both would read the same lines.
                        let done = DispatchSemaphore(value: 0)
                        existing.receiver.shutdown(deadline: .now() + 10) { done.signal() }
                        if done.wait(timeout: .now() + 11) == .timedOut {
                            existing.receiver.abandonState()
                            logger.warn("receiver \(id) of the previous config did not finish in 11 s; its successor may read some lines again")
                        }
                    } else {
                        existing.receiver.shutdown(deadline: .now() + 30) {}
                    }
                    graph.receivers[id] = nil
                    stopped.append((id, existing.settings, existing.receiver))
                }
                let receiver = try ComponentCatalog.makeReceiver(settings, context(id, .receiver, config))
                wire(receiver, id: id, config: config, pipelines: pipelines)
                if graph.config != nil { receiver.holdState() }   // a reload: see below
                try receiver.start()
                graph.receivers[id] = (settings, receiver)
                started.append(id)
            }
        } catch {
            for id in started {
                // A filelog successor stops writing its checkpoint at once: the receiver restored
                // below resumes from the one on disk (lines may be read again, none skipped).
                graph.receivers[id]?.receiver.abandonState()
                graph.receivers[id]?.receiver.shutdown(deadline: .now()) {}
                graph.receivers[id] = nil
            }
            restore(stopped: stopped, reconfigured: reconfigured, graph: &graph)
            throw error
        }
        for (id, entry) in graph.receivers {
            wire(entry.receiver, id: id, config: config, pipelines: pipelines)
        }
        // The update stands: new filelog receivers may write their checkpoints now.
        for id in started { graph.receivers[id]?.receiver.releaseState() }
    }

    /// Undoes a failed receiver update: receivers reconfigured in place get their previous
    /// settings back, and receivers shut down are started again from their previous settings
    /// (a filelog receiver from the checkpoint its predecessor left), wired to the running
    /// pipelines.
    private func restore(stopped: [(ComponentID, any ComponentSettings, any Receiver)], reconfigured: [(ComponentID, any ComponentSettings)],
                         graph: inout Graph) {
        for (id, settings) in reconfigured {
            guard let receiver = graph.receivers[id]?.receiver else { continue }
            do {
                _ = try ComponentCatalog.reconfigure(receiver, settings)
                graph.receivers[id] = (settings, receiver)
            } catch {
                logger.error("receiver \(id) could not be given its previous settings back: \(error)")
            }
        }
        guard let config = graph.config else { return }
        for (id, settings, old) in stopped {
            // One writer per checkpoint: a removed filelog receiver still draining stops writing.
            old.abandonState()
            do {
                let receiver = try ComponentCatalog.makeReceiver(settings, context(id, .receiver, config))
                wire(receiver, id: id, config: config, pipelines: graph.pipelines)
                try receiver.start()
                graph.receivers[id] = (settings, receiver)
                logger.info("receiver \(id) restored with the running configuration's settings")
            } catch {
                logger.error("receiver \(id) could not be restored: \(error)")
            }
        }
    }

    /// Points each signal of `receiver` at the pipelines that list it.
    private func wire(_ receiver: any Receiver, id: ComponentID, config: CollectorConfig, pipelines: [Pipeline]) {
        for signal in Signal.allCases {
            let entries = zip(config.pipelines, pipelines)
                .filter { $0.0.signal == signal && $0.0.receivers.contains(id) }
                .map { $0.1.entry }
            receiver.setConsumer(entries.isEmpty ? nil : (entries.count == 1 ? entries[0] : FanOutConsumer(entries)), for: signal)
        }
    }

    /// Returns what failed to start (`apply` reports it).
    private func updateExtensions(_ config: CollectorConfig, graph: inout Graph) -> [String] {
        var failures: [String] = []
        let wanted = config.serviceExtensions
        for (id, entry) in graph.extensions {
            let next = wanted.contains(id) ? config.component(.extension, id)?.settings : nil
            if next == nil || !(next!.isSame(as: entry.settings)) {
                entry.ext.shutdown(deadline: .now() + 5) {}
                graph.extensions[id] = nil
            } else {
                reloadCertificates(of: entry.ext, "extension \(id)")
            }
        }
        for id in wanted where graph.extensions[id] == nil {
            let settings = config.component(.extension, id)!.settings
            do {
                let ext = try ComponentCatalog.makeExtension(settings, context(id, .extension, config))
                try ext.start()
                graph.extensions[id] = (settings, ext)
            } catch {
                failures.append("extension \(id) failed to start: \(error)")
            }
        }
        return failures
    }

    /// A kept component serving TLS re-reads its certificates (a reload is how rotated
    /// certificates are picked up without `reload_interval`); a failure is logged, the previous
    /// certificates stay.
    private func reloadCertificates(of component: AnyObject, _ name: String) {
        guard let reloading = component as? any CertificateReloading else { return }
        do { try reloading.reloadCertificates() } catch {
            logger.error("\(name): certificates not reloaded, the previous ones stay in use: \(error)")
        }
    }

    private func updateMetricsEndpoint(_ config: CollectorConfig, graph: inout Graph) -> [String] {
        if let kept = graph.metricsEndpoint, kept.address == config.metricsAddress, kept.tlsSettings == config.metricsTLS {
            reloadCertificates(of: kept, "metrics endpoint")
            return []
        }
        graph.metricsEndpoint?.shutdown(deadline: .now() + 1) {}
        graph.metricsEndpoint = nil
        guard !config.metricsAddress.isEmpty else { return [] }
        do {
            graph.metricsEndpoint = try MetricsEndpoint(address: config.metricsAddress, tls: config.metricsTLS, metrics: metrics)
            logger.info("serving metrics on \(config.metricsTLS == nil ? "http" : "https")://\(config.metricsAddress)/metrics")
        } catch {
            return ["metrics endpoint \(config.metricsAddress) failed to start: \(error)"]
        }
        return []
    }

    /// The bound port of the metrics endpoint (tests use port 0).
    public var metricsPort: Int? { graph.withLock { $0.metricsEndpoint?.port } }

    /// Graceful stop: stop accepting, drain and flush every pipeline, answer in-flight requests,
    /// then stop extensions. `completion` runs when done or when `deadline` has passed.
    public func shutdown(deadline: DispatchTime, completion: @escaping @Sendable () -> Void) {
        let g = graph.withLock { g in defer { g = Graph() }; return g }
        for (_, e) in g.extensions { e.ext.pipelinesChanged(running: false) }
        for (_, r) in g.receivers { r.receiver.stopAccepting() }
        let logger = self.logger
        StopOrder.producersFirst(g.pipelines, connections: g.config?.connections ?? [], stop: { p, done in
            p.shutdown(completion: done)
        }) {
            let rest = DispatchGroup()
            for (_, r) in g.receivers {
                rest.enter()
                r.receiver.shutdown(deadline: deadline) { rest.leave() }
            }
            for (_, e) in g.extensions {
                rest.enter()
                e.ext.shutdown(deadline: deadline) { rest.leave() }
            }
            if let m = g.metricsEndpoint {
                rest.enter()
                m.shutdown(deadline: deadline) { rest.leave() }
            }
            rest.notify(queue: .global()) {
                logger.info("shutdown complete")
                completion()
            }
        }
    }
}
