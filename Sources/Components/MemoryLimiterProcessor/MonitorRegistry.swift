import Synchronization

/// The running `MemoryMonitor`s, one per component id, settings and metrics registry, shared by
/// the processors of every pipeline that lists the id (upstream shares one limiter per
/// component the same way). Counted: the first processor to start begins the monitor, the last
/// to shut down ends it and forgets it. A reload that changes the settings starts a new monitor
/// beside the old one, which ends when the old pipelines are drained.
///
/// Thread-safe: processors start on the service's queue and shut down on their pipelines'.
final class MonitorRegistry: Sendable {
    struct Key: Equatable, Sendable {
        var name: String
        var settings: MemoryLimiterSettings
        /// Each service's metrics registry gets its own monitors (tests run several services).
        var metrics: ObjectIdentifier
    }

    private struct Entry {
        var key: Key
        var monitor: MemoryMonitor
        var references: Int
    }

    private let entries = Mutex<[Entry]>([])

    /// The monitor of `key` (made by `make` if none runs), with one more reference; begun when
    /// it is the first.
    func acquire(_ key: Key, make: () -> MemoryMonitor) -> MemoryMonitor {
        entries.withLock { all in
            if let i = all.firstIndex(where: { $0.key == key }) {
                all[i].references += 1
                return all[i].monitor
            }
            let monitor = make()
            all.append(Entry(key: key, monitor: monitor, references: 1))
            monitor.begin()
            return monitor
        }
    }

    /// Drops a reference to `monitor`; the last one ends it.
    func release(_ monitor: MemoryMonitor) {
        entries.withLock { all in
            guard let i = all.firstIndex(where: { $0.monitor === monitor }) else { return }
            all[i].references -= 1
            if all[i].references == 0 {
                all.remove(at: i)
                monitor.end()
            }
        }
    }

    /// How many monitors run (tests).
    var count: Int { entries.withLock { $0.count } }
}
