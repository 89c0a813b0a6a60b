import CollectorCore

/// Settings of the `debug` exporter (the OTel Collector's names).
public struct DebugSettings: ComponentSettings, Equatable {
    public enum Verbosity: String, Sendable, Equatable { case basic, normal, detailed }

    public var verbosity = Verbosity.basic
    /// Log the first `samplingInitial` batches each second, then every `samplingThereafter`-th.
    public var samplingInitial = 2
    public var samplingThereafter = 1
    /// `sending_queue.queue_size`: capacity of the ring in front of the exporter, in batches.
    public var queueSize = 64

    public init() {}
}

extension DebugSettings: ExporterQueueSettings {}

public struct DebugFactory: ExporterFactory {
    public init() {}
    public var type: String { "debug" }
    public var kind: ComponentKind { .exporter }
    public var signals: Set<Signal> { [.traces, .logs, .metrics] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = DebugSettings()
        let v = reader.choice("verbosity", ["basic", "normal", "detailed"], default: s.verbosity.rawValue)
        s.verbosity = DebugSettings.Verbosity(rawValue: v) ?? .basic
        s.samplingInitial = reader.int("sampling_initial", default: s.samplingInitial, range: 1...1_000_000)
        s.samplingThereafter = reader.int("sampling_thereafter", default: s.samplingThereafter, range: 1...1_000_000)
        if let queue = reader.section("sending_queue") {
            _ = queue.bool("enabled", default: true)
            _ = queue.int("num_consumers", default: 1, range: 1...1)
            s.queueSize = queue.int("queue_size", default: s.queueSize, range: 1...65_536)
        }
        return s
    }
}

extension DebugFactory {
    public func makeExporter(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Exporter {
        let out = try context.service(TextOutput.self)
        return DebugExporter(settings: try context.settings(settings, as: DebugSettings.self)) { out.write($0) }
    }
}
