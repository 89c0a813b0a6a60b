import CollectorCore

/// Settings of the `forward` connector: it has none (upstream's takes none either).
public struct ForwardSettings: ComponentSettings, Equatable {
    public init() {}
}

/// The `forward` connector: passes batches unchanged from pipelines of one signal to pipelines
/// of the same signal (to fan one receiver's data into pipelines with different processors,
/// or to merge several pipelines into one).
public struct ForwardFactory: ConnectorFactory {
    public init() {}
    public var type: String { "forward" }
    public var kind: ComponentKind { .connector }
    public var signals: Set<Signal> { Set(Signal.allCases) }

    public func supports(from: Signal, to: Signal) -> Bool { from == to }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        ForwardSettings()
    }

    public func makeConnector(_ settings: any ComponentSettings, from: Signal, to: Signal, context: ComponentContext,
                              next: any Consumer) throws -> any Exporter {
        _ = try context.settings(settings, as: ForwardSettings.self)
        return ForwardConnector(next: next)
    }
}

/// Hands each batch to the downstream pipelines with its acknowledgement: the batch keeps its
/// tokens (one more reference, which the downstream pipelines release when their exporters
/// are done), so the client that sent the data is answered only once the data went all the
/// way through. A downstream pipeline that refuses (full, stopping) fails the export with its
/// error, which reaches the client (retryable: it sends again).
final class ForwardConnector: Exporter {
    private let next: any Consumer

    init(next: any Consumer) {
        self.next = next
    }

    func start() throws {}

    func export(_ batch: TelemetryBatch) throws(ComponentError) {
        batch.retainTokens(copies: 1)
        do {
            try next.consume(batch)
        } catch {
            // Refused: the reference handed over is still ours (the `Consumer` contract).
            batch.complete(error)
            throw error
        }
    }

    func shutdown() {}

    /// Consumers are thread-safe (a pipeline entry only pushes into a ring).
    var exportsConcurrently: Bool { true }
}
