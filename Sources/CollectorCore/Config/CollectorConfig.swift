import TLSSettings

/// `service.pipelines.<signal>[/<name>]`. `receivers` and `exporters` may name connectors
/// (`CollectorConfig.connections` says which pipelines they join).
public struct PipelineConfig: Sendable {
    public var name: String
    public var signal: Signal
    public var receivers: [ComponentID]
    public var processors: [ComponentID]
    public var exporters: [ComponentID]
}

/// One connector instance in use: `connector` exports from the pipelines of signal `from`
/// that list it among their exporters into those of signal `to` that list it among their
/// receivers (indexes into `CollectorConfig.pipelines`).
public struct PipelineConnection: Sendable, Equatable {
    public var connector: ComponentID
    public var from: Signal
    public var to: Signal
    public var upstream: [Int]
    public var downstream: [Int]

    public init(connector: ComponentID, from: Signal, to: Signal, upstream: [Int], downstream: [Int]) {
        self.connector = connector
        self.from = from
        self.to = to
        self.upstream = upstream
        self.downstream = downstream
    }
}

/// `service.limits`: process-wide bounds on what clients may make the process hold (ours; the
/// OTel Collector has no such section). Applied by the daemon at start and on reload.
public struct ServiceLimits: Sendable, Equatable {
    /// `max_connections`: client connections on all listeners together; nil: the descriptor
    /// limit minus a reserve (a smaller configured value wins, a larger one is capped there).
    public var maxConnections: Int?
    /// `request_memory_limit_mib`: bytes held by requests still arriving, plus the decoded
    /// footprint of requests being handed to pipelines.
    public var requestMemoryLimitMiB = 128
    /// `pipeline_queue_size`: requests (batches) a pipeline's input ring holds while its
    /// processors catch up; one arriving when it is full is refused as retryable. Large, so
    /// that a burst of many clients' small requests fits: the bytes those requests hold are
    /// bounded by `request_memory_limit_mib`, not by this count.
    public var pipelineQueueSize = 4096

    public init() {}
}

/// A whole, validated collector config.
public struct CollectorConfig: Sendable {
    public struct Component: Sendable {
        public var id: ComponentID
        public var kind: ComponentKind
        public var settings: any ComponentSettings
    }

    /// Components by kind, in file order.
    public var components: [ComponentKind: [Component]]
    public var pipelines: [PipelineConfig]
    public var serviceExtensions: [ComponentID]
    /// `service.telemetry.metrics.address` ("" disables the endpoint).
    public var metricsAddress: String
    /// `service.telemetry.metrics.tls`: the metrics endpoint serves HTTPS (configtls's keys).
    public var metricsTLS: TLSServerSettings?
    /// `service.telemetry.logs.level`.
    public var logLevel: LogLevel
    /// `service.limits`.
    public var limits = ServiceLimits()
    /// The connectors in use, in config order (the parser checks that the pipelines they join
    /// form no cycle).
    public var connections: [PipelineConnection] = []
    /// What the file does that is allowed but probably wrong (an unset `${env:...}`), for the
    /// daemon and `validate` to say.
    public var warnings: [ConfigProblem] = []

    /// No components, no pipelines and no metrics endpoint: the context of a component built
    /// outside a service (the micro-benchmarks build connectors with their factories).
    public static let empty = CollectorConfig(components: [:], pipelines: [], serviceExtensions: [], metricsAddress: "", logLevel: .info)

    public func component(_ kind: ComponentKind, _ id: ComponentID) -> Component? {
        components[kind]?.first { $0.id == id }
    }

    /// Whether `id`, in a pipeline's receivers or exporters, is a connector.
    public func isConnector(_ id: ComponentID) -> Bool {
        component(.connector, id) != nil
    }

    /// The receivers (not connectors) of every pipeline, each once.
    public var receiverIDs: Set<ComponentID> {
        Set(pipelines.flatMap(\.receivers).filter { !isConnector($0) })
    }

    /// Pipeline indexes with every pipeline after those it feeds through connectors: the order
    /// to build and start them in (consumers first). Its reverse stops producers first.
    public var consumersFirst: [Int] {
        var feeds = [Set<Int>](repeating: [], count: pipelines.count)
        for c in connections {
            for u in c.upstream { feeds[u].formUnion(c.downstream) }
        }
        var order: [Int] = []
        var placed = Set<Int>()
        // Depth first from each pipeline: its downstream pipelines are placed before it (the
        // parser refused cycles; `visiting` keeps a bad config from recursing forever).
        var visiting = Set<Int>()
        func place(_ p: Int) {
            guard !placed.contains(p), visiting.insert(p).inserted else { return }
            for d in feeds[p].sorted() { place(d) }
            placed.insert(p)
            order.append(p)
        }
        for p in pipelines.indices { place(p) }
        return order
    }
}
