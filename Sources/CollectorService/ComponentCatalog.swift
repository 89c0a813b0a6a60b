import BatchProcessor
import CollectorCore
import DebugExporter
import FileLogReceiver
import HealthCheck
import LokiExporter
import NopExporter
import OTLPCodec
import OTLPReceiver
import QueryAPI
import Store
import StoreExporter

/// Every component type the collector knows: their factories (config) and how to build them.
/// Adding a component means adding its factory here and a case to each `make` function.
public struct ComponentCatalog: Sendable {
    public struct Context: Sendable {
        public var id: ComponentID
        public var metrics: MetricsRegistry
        public var logger: Logger
        public var stdout: StandardOutput
        public var stores: StoreRegistry
        /// The store the `query` extension reads: the first `store` exporter's, else ./data.
        public var queryStore: StoreConfig = StoreConfig(directory: "./data")
    }

    public static let factories: [any ComponentFactory] = [
        OTLPFactory(), FileLogFactory(), BatchFactory(), DebugFactory(), StoreExporterFactory(), LokiFactory(), NopFactory(), HealthCheckFactory(), QueryFactory(),
    ]

    public static var parser: ConfigParser { ConfigParser(factories: factories) }

    static func makeReceiver(_ settings: any ComponentSettings, _ ctx: Context) throws -> any Receiver {
        switch settings {
        case let s as OTLPSettings:
            return OTLPReceiver(name: ctx.id.description, settings: s, metrics: ctx.metrics, logger: ctx.logger)
        case let s as FileLogSettings:
            return FileLogReceiver(name: ctx.id.description, settings: s, metrics: ctx.metrics, logger: ctx.logger)
        default:
            throw ComponentError.permanent("no receiver implementation for \(ctx.id)")
        }
    }

    static func makeProcessor(_ settings: any ComponentSettings, _ ctx: Context) throws -> any Processor {
        switch settings {
        case let s as BatchSettings:
            return BatchProcessor(settings: s, name: ctx.id.description, metrics: ctx.metrics) { signal, bytes, max in
                try OTLPSplitter.split(signal == .traces ? .traces : .logs, protobuf: bytes, maxItems: max)
            }
        default:
            throw ComponentError.permanent("no processor implementation for \(ctx.id)")
        }
    }

    static func makeExporter(_ settings: any ComponentSettings, _ ctx: Context) throws -> any Exporter {
        switch settings {
        case let s as DebugSettings:
            let out = ctx.stdout
            return DebugExporter(settings: s) { out.write($0) }
        case is NopSettings:
            return NopExporter()
        case let s as LokiSettings:
            return try LokiExporter(settings: s, name: ctx.id.description, logger: ctx.logger, metrics: ctx.metrics)
        case let s as StoreExporterSettings:
            let store = try ctx.stores.acquire(s.store)
            let stores = ctx.stores
            let directory = s.store.directory
            return StoreExporter(store: store) { stores.release(directory: directory) }
        default:
            throw ComponentError.permanent("no exporter implementation for \(ctx.id)")
        }
    }

    static func makeExtension(_ settings: any ComponentSettings, _ ctx: Context) throws -> any Extension {
        switch settings {
        case let s as HealthCheckSettings:
            return HealthCheckExtension(settings: s, logger: ctx.logger)
        case let s as QuerySettings:
            let store = try ctx.stores.acquire(ctx.queryStore)
            let stores = ctx.stores
            let directory = ctx.queryStore.directory
            return StoreHoldingExtension(QueryExtension(settings: s, reader: store, logger: ctx.logger)) {
                stores.release(directory: directory)
            }
        default:
            throw ComponentError.permanent("no extension implementation for \(ctx.id)")
        }
    }

    /// Applies new settings to a running receiver when it supports that; false means rebuild.
    static func reconfigure(_ receiver: any Receiver, _ settings: any ComponentSettings) throws -> Bool {
        if let r = receiver as? OTLPReceiver, let s = settings as? OTLPSettings {
            try r.reconfigure(s)
            return true
        }
        return false
    }
}
