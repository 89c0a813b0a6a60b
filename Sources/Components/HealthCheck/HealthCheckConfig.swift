import CollectorCore
import TLSSettings

/// Settings of the `health_check` extension (the OTel Collector's names and defaults).
public struct HealthCheckSettings: ComponentSettings, Equatable {
    public var endpoint = "0.0.0.0:13133"
    public var path = "/"
    /// confighttp's `idle_timeout`, `read_header_timeout`, `read_timeout`.
    public var listener = ListenerLimits()
    /// confighttp's `tls` (nil: plain HTTP).
    public var tls: TLSServerSettings?
    public init() {}
}

public struct HealthCheckFactory: ExtensionFactory {
    public init() {}
    public var type: String { "health_check" }
    public var kind: ComponentKind { .extension }
    public var signals: Set<Signal> { [] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = HealthCheckSettings()
        s.endpoint = reader.string("endpoint", default: s.endpoint)
        s.path = reader.string("path", default: s.path)
        s.listener = reader.httpListenerLimits()
        s.tls = reader.tlsServerSettings()
        if !s.path.hasPrefix("/") { reader.problem("path", "must start with /") }
        if let check = reader.section("check_collector_pipeline") {
            _ = check.bool("enabled", default: false)
            _ = check.string("interval", default: "5m")
            _ = check.int("exporter_failure_threshold", default: 5)
        }
        return s
    }
}

extension HealthCheckFactory {
    public func makeExtension(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Extension {
        HealthCheckExtension(settings: try context.settings(settings, as: HealthCheckSettings.self), logger: context.logger)
    }
}
