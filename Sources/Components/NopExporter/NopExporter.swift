import CollectorCore

/// The `nop` exporter (as in the OTel Collector): accepts every batch and discards it. Useful to
/// measure a pipeline without an exporter's cost, and to keep a pipeline valid while its real
/// exporter is being configured. A batch counts as delivered when `export` returns.
public final class NopExporter: Exporter {
    public init() {}
    public func start() throws {}
    public func export(_ batch: TelemetryBatch) throws(ComponentError) {}
    public func shutdown() {}
    public var exportsConcurrently: Bool { true }
    public var readsParts: Bool { true }
}

/// Settings of the `nop` exporter: only `sending_queue.queue_size` (capacity of the ring in
/// front of it, in batches).
public struct NopSettings: ComponentSettings, Equatable, ExporterQueueSettings {
    public var queueSize = 64
    public init() {}
}

public struct NopFactory: ExporterFactory {
    public init() {}
    public var type: String { "nop" }
    public var kind: ComponentKind { .exporter }
    public var signals: Set<Signal> { [.traces, .logs, .metrics] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = NopSettings()
        if let queue = reader.section("sending_queue") {
            s.queueSize = queue.int("queue_size", default: s.queueSize, range: 1...65_536)
        }
        return s
    }

    public func makeExporter(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Exporter {
        NopExporter()
    }
}
