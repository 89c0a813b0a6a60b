import CollectorCore
import OTLPCodec

/// Settings of the `batch` processor, with the OTel Collector's names and defaults.
public struct BatchSettings: ComponentSettings, Equatable {
    /// Items (spans or log records) after which a batch is sent regardless of the timeout.
    public var sendBatchSize = 8192
    /// Upper bound on a sent batch's items; 0 means unlimited. Larger batches are split.
    public var sendBatchMaxSize = 0
    /// Time after which a non-empty batch is sent regardless of its size (ns); 0 sends at once.
    public var timeout: UInt64 = 200_000_000

    public init() {}
}

public struct BatchFactory: ProcessorFactory {
    public init() {}
    public var type: String { "batch" }
    public var kind: ComponentKind { .processor }
    public var signals: Set<Signal> { [.traces, .logs, .metrics] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = BatchSettings()
        s.sendBatchSize = reader.int("send_batch_size", default: s.sendBatchSize, range: 0...Int(Int32.max))
        s.sendBatchMaxSize = reader.int("send_batch_max_size", default: s.sendBatchMaxSize, range: 0...Int(Int32.max))
        s.timeout = reader.duration("timeout", default: s.timeout)
        _ = reader.stringList("metadata_keys").map { _ in reader.problem("metadata_keys", "metadata_keys is not supported") }
        _ = reader.raw("metadata_cardinality_limit")
        if s.sendBatchMaxSize > 0 && s.sendBatchMaxSize < s.sendBatchSize {
            reader.problem("send_batch_max_size", "send_batch_max_size (\(s.sendBatchMaxSize)) must be 0 or at least send_batch_size (\(s.sendBatchSize))")
        }
        return s
    }
}

extension BatchFactory {
    public func makeProcessor(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Processor {
        BatchProcessor(settings: try context.settings(settings, as: BatchSettings.self), name: context.id.description,
                       metrics: context.metrics) { signal, bytes, max in
            try OTLPSplitter.splitTracingResources(OTLPSignal(signal), protobuf: bytes, maxItems: max)
        }
    }
}
