import CollectorCore
import Synchronization

/// Exporter instances shared by id and settings, reference-counted, so that a reload keeps an
/// exporter whose settings did not change instead of building a second one beside it.
///
/// Why: during a reload the old pipelines drain into their exporters while the new ones already
/// run. Two instances of one exporter would, for that moment, both own its resources: the Loki
/// disk queue directory (two writers, two senders), a connection pool, a file. With the
/// registry, the new pipeline's stage and the draining old one share the one instance; it is
/// shut down when the last stage using it lets go. An exporter id used by several pipelines is
/// likewise one instance.
///
/// Concurrency: each `SharedExporter` handle belongs to one stage, but several stages may call
/// `export` on the same instance at once, so calls into it are serialized by a lock (the
/// `Exporter` contract promises one caller at a time), unless the exporter says it takes
/// concurrent calls (`exportsConcurrently`: the store, nop, Loki with its disk queue). A changed exporter gets a new instance;
/// exporters that own a directory (the Loki disk queue) lock it, so such a reload fails cleanly
/// and the running config stays.
public final class ExporterRegistry: Sendable {
    final class Entry: Sendable {
        let id: ComponentID
        let settings: any ComponentSettings
        let exporter: any Exporter
        /// Serializes `export` across the stages sharing the instance.
        let exportLock = Mutex(())
        /// (handles, started)
        let state = Mutex((references: 0, started: false))

        init(id: ComponentID, settings: any ComponentSettings, exporter: any Exporter) {
            self.id = id
            self.settings = settings
            self.exporter = exporter
        }
    }

    private let entries = Mutex<[Entry]>([])

    public init() {}

    /// A handle on the exporter `id` with `settings`: the running instance when the settings
    /// are the same, else a new one from `make`.
    public func acquire(_ id: ComponentID, settings: any ComponentSettings, make: () throws -> any Exporter) throws -> any Exporter {
        // Found and counted under the registry's lock, so a concurrent last release cannot shut
        // the instance down in between.
        let existing: Entry? = entries.withLock { all in
            guard let entry = all.first(where: { $0.id == id && $0.settings.isSame(as: settings) }) else { return nil }
            entry.state.withLock { $0.references += 1 }
            return entry
        }
        if let existing { return SharedExporter(existing, registry: self) }
        let entry = Entry(id: id, settings: settings, exporter: try make())
        entry.state.withLock { $0.references = 1 }
        entries.withLock { $0.append(entry) }
        return SharedExporter(entry, registry: self)
    }

    /// Instances alive (tests and metrics).
    public var count: Int { entries.withLock { $0.count } }

    fileprivate func release(_ entry: Entry) {
        let last = entries.withLock { all -> Bool in
            let last = entry.state.withLock { s -> Bool in
                s.references -= 1
                return s.references == 0
            }
            if last { all.removeAll { $0 === entry } }
            return last
        }
        guard last else { return }
        entry.exporter.shutdown()
    }
}

/// One stage's handle on a shared exporter (see `ExporterRegistry`). It passes an
/// `AsyncExporter`'s in-flight deliveries through; any other exporter is exported to one
/// batch at a time (`maxInFlight` 1, completed at once).
final class SharedExporter: AsyncExporter {
    private let entry: ExporterRegistry.Entry
    private let registry: ExporterRegistry
    private let released = Atomic(false)

    init(_ entry: ExporterRegistry.Entry, registry: ExporterRegistry) {
        self.entry = entry
        self.registry = registry
    }

    /// Starts the instance once, whichever handle comes first.
    func start() throws {
        let first = entry.state.withLock { s -> Bool in
            defer { s.started = true }
            return !s.started
        }
        guard first else { return }
        do {
            try entry.exporter.start()
        } catch {
            entry.state.withLock { $0.started = false }
            throw error
        }
    }

    func export(_ batch: TelemetryBatch) throws(ComponentError) {
        let exporter = entry.exporter
        if exporter.exportsConcurrently { return try exporter.export(batch) }
        try entry.exportLock.withLock { _ throws(ComponentError) in try exporter.export(batch) }
    }

    var maxInFlight: Int { (entry.exporter as? any AsyncExporter)?.maxInFlight ?? 1 }

    var readsParts: Bool { entry.exporter.readsParts }

    var exportsInline: Bool { entry.exporter.exportsInline }

    /// The instance's (`export` above locks for an instance that is not); a pipeline feeds an
    /// exporter inline only when it is.
    var exportsConcurrently: Bool { entry.exporter.exportsConcurrently }

    func export(_ batch: TelemetryBatch, completion: @escaping @Sendable (ComponentError?) -> Void) {
        if let async = entry.exporter as? any AsyncExporter { return async.export(batch, completion: completion) }
        do throws(ComponentError) {
            try export(batch)
            completion(nil)
        } catch {
            completion(error)
        }
    }

    /// Lets go of the instance; the last handle shuts it down. Idempotent.
    func shutdown() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        registry.release(entry)
    }
}
