import CollectorCore
import Store

/// The `store` exporter: appends each batch to the segment store as one block (split into
/// several when large). `export` returns once the block is written to the segment file, and
/// fsynced too with `sync: always`, so the receiver's answer to the client (end-to-end
/// acknowledgement) means the data survives a crash of the collector (with `sync: always`,
/// also of the machine).
///
/// The store itself is shared: every `store` exporter naming the same directory, in the traces
/// and the logs pipelines, old and new across a reload, and the `query` extension use one
/// `TraceStore`, held by `StoreRegistry` (which owns the directory lock).
public final class StoreExporter: Exporter {
    private let store: TraceStore
    private let release: @Sendable () -> Void

    /// `release` is called once, by `shutdown`, to give the shared store back.
    public init(store: TraceStore, release: @escaping @Sendable () -> Void) {
        self.store = store
        self.release = release
    }

    public func start() throws {}

    public func export(_ batch: TelemetryBatch) throws(ComponentError) {
        do {
            try store.append(kind: batch.signal == .traces ? .spans : .logs, payload: batch.payload, itemCount: batch.itemCount)
        } catch {
            throw ComponentError(error.isPermanent ? .permanent : .retryable, "store: \(error)")
        }
    }

    public func shutdown() {
        release()
    }

    /// The store takes concurrent appends (traces and logs pipelines already share it).
    public var exportsConcurrently: Bool { true }
}
