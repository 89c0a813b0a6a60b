import Synchronization

/// What a factory gets to build a component: its id, the service's metrics registry, a logger
/// named after it, the whole config (for components that read their neighbours' settings, as
/// the `query` extension finds the `store` exporter's directory), and the host's shared services.
public struct ComponentContext: Sendable {
    public var id: ComponentID
    public var kind: ComponentKind
    public var metrics: MetricsRegistry
    public var logger: Logger
    public var config: CollectorConfig
    public var host: ComponentHost

    public init(id: ComponentID, kind: ComponentKind, metrics: MetricsRegistry, logger: Logger,
                config: CollectorConfig, host: ComponentHost) {
        self.id = id
        self.kind = kind
        self.metrics = metrics
        self.logger = logger
        self.config = config
        self.host = host
    }

    /// `settings` as the factory's own type, or a permanent error naming the component.
    public func settings<T: ComponentSettings>(_ settings: any ComponentSettings, as type: T.Type) throws(ComponentError) -> T {
        guard let typed = settings as? T else {
            throw .permanent("\(kind.rawValue) \(id): settings of type \(Swift.type(of: settings)), expected \(T.self)")
        }
        return typed
    }

    /// The host service of `type`, or a permanent error (the host was built without it).
    public func service<T: Sendable>(_ type: T.Type) throws(ComponentError) -> T {
        guard let service = host.service(type) else {
            throw .permanent("\(kind.rawValue) \(id) needs \(T.self), which this host does not provide")
        }
        return service
    }
}

/// Services the running host shares with the components it builds, one per type: the standard
/// output writer, registries of resources that must be opened once per process (stores,
/// sampling holds). Registered once when the host starts; looked up by type.
public final class ComponentHost: Sendable {
    private let services = Mutex<[ObjectIdentifier: any Sendable]>([:])

    public init() {}

    /// Registers `service` under its own type (a second registration replaces the first).
    public func provide<T: Sendable>(_ service: T) {
        services.withLock { $0[ObjectIdentifier(T.self)] = service }
    }

    public func service<T: Sendable>(_ type: T.Type) -> T? {
        services.withLock { $0[ObjectIdentifier(T.self)] } as? T
    }
}

/// Where text for the process's standard output goes (the debug exporter), serialized by the host.
public struct TextOutput: Sendable {
    public let write: @Sendable (String) -> Void
    public init(write: @escaping @Sendable (String) -> Void) { self.write = write }
}

/// Builds receivers of one type. `make` does no I/O beyond what the component's init does
/// (binding happens in `start`).
public protocol ReceiverFactory: ComponentFactory {
    func makeReceiver(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Receiver
}

/// Builds processors of one type: one instance per pipeline that lists it.
public protocol ProcessorFactory: ComponentFactory {
    func makeProcessor(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Processor
}

/// Builds exporters of one type (one instance per id, shared by the pipelines listing it).
public protocol ExporterFactory: ComponentFactory {
    func makeExporter(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Exporter
}

/// Builds connectors of one type: one instance per (id, from signal, to signal) pair in use,
/// shared by every pipeline of the `from` signal that lists it as an exporter and feeding every
/// pipeline of the `to` signal that lists it as a receiver.
///
/// The instance is the upstream pipelines' exporter: `export` hands what it makes to `next`
/// (the downstream pipelines' entries) and follows the `Consumer` contract's token rules: a
/// connector that passes a batch's data on (`forward`) passes its acknowledgement on too
/// (it retains the tokens for the batch it hands over), one that only derives data from it
/// (`spanmetrics`) sends its own batches without tokens. `shutdown` emits what it holds into
/// `next`: the service stops a connector's upstream pipelines before its downstream ones.
public protocol ConnectorFactory: ComponentFactory {
    /// Whether a connector of this type takes `from` in and gives `to` out.
    func supports(from: Signal, to: Signal) -> Bool
    func makeConnector(_ settings: any ComponentSettings, from: Signal, to: Signal, context: ComponentContext,
                       next: any Consumer) throws -> any Exporter
}

public protocol ExtensionFactory: ComponentFactory {
    func makeExtension(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Extension
}

/// A receiver that can take new settings while running (the OTLP receiver keeps the listeners
/// whose endpoints did not change). Returns false when it cannot and must be rebuilt.
public protocol ReconfigurableReceiver: Receiver {
    func reconfigure(_ settings: any ComponentSettings) throws -> Bool
}
