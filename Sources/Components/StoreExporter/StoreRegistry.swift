import CollectorCore
import Store
import Synchronization

/// Open stores by directory, shared and reference-counted: a directory is opened once (the
/// store holds a lock on it) however many exporters and extensions use it, and stays open across
/// a reload, because the new graph acquires it before the old one releases it. The last release
/// closes it. A reload that changes a store's settings keeps the open store (with a warning):
/// store settings take effect at the next start.
public final class StoreRegistry: Sendable {
    private struct Entry: Sendable {
        var config: StoreConfig
        var store: TraceStore
        var references: Int
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let logger: Logger
    private let metrics: MetricsRegistry

    public init(logger: Logger, metrics: MetricsRegistry) {
        self.logger = logger
        self.metrics = metrics
    }

    /// The store for `config.directory`, opened (and recovered) on first use.
    public func acquire(_ config: StoreConfig) throws(ComponentError) -> TraceStore {
        let key = config.directory
        let existing: TraceStore? = entries.withLock { all in
            guard var entry = all[key] else { return nil }
            entry.references += 1
            all[key] = entry
            if entry.config != config {
                self.logger.warn("store \(key): changed settings take effect after a restart; keeping the open store")
            }
            return entry.store
        }
        if let existing { return existing }
        let log = self.logger
        let store: TraceStore
        do {
            store = try TraceStore(config: config, onEvent: { event in
                switch event.severity {
                case .info: log.info("store: \(event)")
                case .warning: log.warn("store: \(event)")
                case .error: log.error("store: \(event)")
                }
            })
        } catch {
            throw ComponentError.permanent("cannot open store \(key): \(error)")
        }
        entries.withLock { $0[key] = Entry(config: config, store: store, references: 1) }
        registerMetrics(store, directory: key)
        logger.info("store open at \(key)")
        return store
    }

    /// Gives back one reference; the last one closes the store.
    public func release(directory: String) {
        let closing: TraceStore? = entries.withLock { all in
            guard var entry = all[directory] else { return nil }
            entry.references -= 1
            if entry.references > 0 {
                all[directory] = entry
                return nil
            }
            all[directory] = nil
            return entry.store
        }
        if let closing {
            closing.close()
            logger.info("store at \(directory) closed")
        }
    }

    private func registerMetrics(_ store: TraceStore, directory: String) {
        let labels = [("directory", directory)]
        metrics.callback("collectord_store_bytes", help: "Bytes of segment and index files in the store.", labels: labels) {
            Double(store.statistics().bytes)
        }
        metrics.callback("collectord_store_segments", help: "Segments in the store.", labels: labels) {
            Double(store.statistics().segments)
        }
        metrics.callback("collectord_store_corrupt_blocks_total", kind: .counter,
                         help: "Corrupt blocks found (and skipped) by recovery or reads.", labels: labels) {
            Double(store.statistics().corruptBlocks)
        }
    }
}
