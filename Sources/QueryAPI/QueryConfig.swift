import CollectorCore
import Transport

/// Settings of the `query` extension, with complete defaults.
///
/// ```yaml
/// extensions:
///   query:
///     endpoint: 127.0.0.1:16686   # Jaeger query's port; loopback by default (no auth)
/// ```
public struct QuerySettings: ComponentSettings, Equatable {
    /// `host:port` to listen on.
    public var endpoint = "127.0.0.1:16686"

    public init() {}
}

/// Knows the `query` extension: the Jaeger- and Tempo-compatible HTTP API over the store.
public struct QueryFactory: ComponentFactory {
    public init() {}
    public var type: String { "query" }
    public var kind: ComponentKind { .extension }
    public var signals: Set<Signal> { [] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = QuerySettings()
        s.endpoint = reader.string("endpoint", default: s.endpoint)
        do {
            _ = try Endpoint(parsing: s.endpoint)
        } catch {
            reader.problem("endpoint", "\(error)")
        }
        return s
    }
}
