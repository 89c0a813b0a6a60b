import CollectorCore
import Store
import StoreExporter
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
public struct QueryFactory: ExtensionFactory {
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

extension QueryFactory {
    /// The extension reads the store of the config's first `store` exporter, else ./data.
    public func makeExtension(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Extension {
        let s = try context.settings(settings, as: QuerySettings.self)
        let config = context.config.components[.exporter]?.lazy.compactMap { $0.settings as? StoreExporterSettings }.first?.store
            ?? StoreConfig(directory: "./data")
        let stores = try context.service(StoreRegistry.self)
        let store = try stores.acquire(config)
        let directory = config.directory
        return StoreHoldingExtension(QueryExtension(settings: s, reader: store, logger: context.logger)) {
            stores.release(directory: directory)
        }
    }
}
