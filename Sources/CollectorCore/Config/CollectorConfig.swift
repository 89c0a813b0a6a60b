import TLSSettings

/// `service.pipelines.<signal>[/<name>]`.
public struct PipelineConfig: Sendable {
    public var name: String
    public var signal: Signal
    public var receivers: [ComponentID]
    public var processors: [ComponentID]
    public var exporters: [ComponentID]
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
    /// What the file does that is allowed but probably wrong (an unset `${env:...}`), for the
    /// daemon and `validate` to say.
    public var warnings: [ConfigProblem] = []

    public func component(_ kind: ComponentKind, _ id: ComponentID) -> Component? {
        components[kind]?.first { $0.id == id }
    }
}
