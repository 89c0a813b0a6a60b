import CollectorCore

/// Settings of the `debug` exporter (the OTel Collector's names).
public struct DebugSettings: ComponentSettings, Equatable {
    public enum Verbosity: String, Sendable, Equatable { case basic, normal, detailed }

    public var verbosity = Verbosity.basic
    /// Log the first `samplingInitial` batches each second, then every `samplingThereafter`-th.
    public var samplingInitial = 2
    public var samplingThereafter = 1

    public init() {}
}

public struct DebugFactory: ComponentFactory {
    public init() {}
    public var type: String { "debug" }
    public var kind: ComponentKind { .exporter }
    public var signals: Set<Signal> { [.traces, .logs] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = DebugSettings()
        let v = reader.choice("verbosity", ["basic", "normal", "detailed"], default: s.verbosity.rawValue)
        s.verbosity = DebugSettings.Verbosity(rawValue: v) ?? .basic
        s.samplingInitial = reader.int("sampling_initial", default: s.samplingInitial, range: 1...1_000_000)
        s.samplingThereafter = reader.int("sampling_thereafter", default: s.samplingThereafter, range: 1...1_000_000)
        if let retry = reader.section("sending_queue") { _ = retry.bool("enabled", default: false) }
        return s
    }
}
