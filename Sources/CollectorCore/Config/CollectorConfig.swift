/// `service.pipelines.<signal>[/<name>]`.
public struct PipelineConfig: Sendable {
    public var name: String
    public var signal: Signal
    public var receivers: [ComponentID]
    public var processors: [ComponentID]
    public var exporters: [ComponentID]
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
    /// `service.telemetry.logs.level`.
    public var logLevel: LogLevel
    /// What the file does that is allowed but probably wrong (an unset `${env:...}`), for the
    /// daemon and `validate` to say.
    public var warnings: [ConfigProblem] = []

    public func component(_ kind: ComponentKind, _ id: ComponentID) -> Component? {
        components[kind]?.first { $0.id == id }
    }
}
