import CollectorCore
import Foundation
import Synchronization
@testable import MemoryLimiterProcessor

let mib: UInt64 = 1 << 20

/// What a monitor under test measures and logs: an RSS the test sets, a manual clock, and
/// the trims and log lines it caused.
final class FakeMemory: Sendable {
    let clock = ManualClock()
    let resident = Atomic<UInt64>(0)
    /// Bytes the next trim frees (then 0 again).
    let trimFrees = Atomic<UInt64>(0)
    let trims = Atomic<Int>(0)
    let lines = Mutex<[String]>([])

    var environment: MemoryMonitor.Environment {
        MemoryMonitor.Environment(clock: clock, residentBytes: { self.resident.load(ordering: .relaxed) }, trim: {
            self.trims.add(1, ordering: .relaxed)
            let freed = self.trimFrees.exchange(0, ordering: .relaxed)
            self.resident.subtract(min(freed, self.resident.load(ordering: .relaxed)), ordering: .relaxed)
        }, ticks: false)
    }

    var logger: Logger {
        Logger(minimum: .debug, component: "processor/memory_limiter", sink: { level, line in
            self.lines.withLock { $0.append("\(level): \(line)") }
        })
    }

    func set(mib value: UInt64) { resident.store(value * mib, ordering: .relaxed) }

    /// The lines logged since the last call.
    func takeLines() -> [String] { lines.withLock { l in defer { l = [] }; return l } }
}

/// A monitor over `fake` with fixed limits (hard 100 MiB, spike 20 MiB unless told).
func makeMonitor(_ fake: FakeMemory, metrics: MetricsRegistry = MetricsRegistry(), hard: UInt64 = 100, spike: UInt64 = 20,
                 configure: (inout MemoryLimiterSettings) -> Void = { _ in }) -> MemoryMonitor {
    var s = MemoryLimiterSettings()
    s.checkInterval = 1_000_000_000
    s.limitMiB = Int(hard)
    s.spikeLimitMiB = Int(spike)
    configure(&s)
    return MemoryMonitor(name: "memory_limiter", limits: MemoryLimits(hard: hard * mib, spike: spike * mib), settings: s,
                         metrics: metrics, logger: fake.logger, environment: fake.environment)
}

/// A scratch directory standing in for `/` (its `proc` and `sys` trees), removed at deinit.
final class FakeRoot {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "memlim-root-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ relative: String, _ text: String) throws {
        let full = path + relative
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: false, encoding: .utf8)
    }

    /// `/proc/meminfo` with `MemTotal` of `kib` kB.
    func memInfo(kib: UInt64) throws {
        try write("/proc/meminfo", "MemTotal:       \(kib) kB\nMemFree:         1000 kB\nMemAvailable:    2000 kB\n")
    }
}

/// What the service gives the factory: `id`, a metrics registry and a logger, in a parsed config.
func makeContext(_ id: ComponentID, metrics: MetricsRegistry, logger: Logger) throws -> ComponentContext {
    let config = try ConfigTests.parser.parse(yaml: ConfigTests.yaml("    check_interval: 1s\n    limit_mib: 1"), file: "t.yaml",
                                              environment: [:])
    return ComponentContext(id: id, kind: .processor, metrics: metrics, logger: logger, config: config, host: ComponentHost())
}
