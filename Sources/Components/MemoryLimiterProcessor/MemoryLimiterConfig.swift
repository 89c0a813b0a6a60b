import CollectorCore

/// Settings of the `memory_limiter` processor, with the OTel Collector's keys, defaults and
/// validation messages (`internal/memorylimiter/config.go`). Durations are nanoseconds.
public struct MemoryLimiterSettings: ComponentSettings, Equatable {
    /// Time between two measurements of the resident set size; required (> 0).
    public var checkInterval: UInt64 = 0
    /// Least time between two heap trims while above the soft limit (upstream: forced GCs).
    public var minGCIntervalWhenSoftLimited: UInt64 = 10_000_000_000
    /// Least time between two heap trims while above the hard limit; 0: at every check.
    public var minGCIntervalWhenHardLimited: UInt64 = 0
    /// The hard limit in MiB; takes precedence over `limitPercentage` (as upstream).
    public var limitMiB = 0
    /// Hard minus soft limit in MiB; 0: 20% of the hard limit.
    public var spikeLimitMiB = 0
    /// The hard limit as a percentage of the memory the process may use (see `TotalMemory`).
    public var limitPercentage = 0
    /// Hard minus soft limit as a percentage of that memory; 0: 20% of the hard limit.
    public var spikeLimitPercentage = 0

    public init() {}
}

public struct MemoryLimiterFactory: ProcessorFactory {
    /// The monitors shared by the processors of one id in several pipelines (as upstream
    /// shares one limiter per component). Factories live as long as the process.
    let monitors = MonitorRegistry()
    /// Where `/proc` and `/sys` are looked for (tests point it at a fake tree).
    let systemRoot: String

    public init() { systemRoot = "" }
    init(systemRoot: String) { self.systemRoot = systemRoot }

    public var type: String { "memory_limiter" }
    public var kind: ComponentKind { .processor }
    public var signals: Set<Signal> { [.traces, .logs, .metrics] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = MemoryLimiterSettings()
        let uint32 = 0...Int(UInt32.max)
        s.checkInterval = reader.duration("check_interval", default: s.checkInterval)
        s.minGCIntervalWhenSoftLimited = reader.duration("min_gc_interval_when_soft_limited", default: s.minGCIntervalWhenSoftLimited)
        s.minGCIntervalWhenHardLimited = reader.duration("min_gc_interval_when_hard_limited", default: s.minGCIntervalWhenHardLimited)
        s.limitMiB = reader.int("limit_mib", default: 0, range: uint32)
        s.spikeLimitMiB = reader.int("spike_limit_mib", default: 0, range: uint32)
        s.limitPercentage = reader.int("limit_percentage", default: 0, range: uint32)
        s.spikeLimitPercentage = reader.int("spike_limit_percentage", default: 0, range: uint32)
        for (key, message) in Self.validate(s) { reader.problem(key, message) }
        return s
    }

    /// Upstream's `Config.Validate`, message for message, but every problem at once (upstream
    /// stops at the first), each on the key it is about.
    static func validate(_ s: MemoryLimiterSettings) -> [(String, String)] {
        var problems: [(String, String)] = []
        if s.checkInterval == 0 {
            problems.append(("check_interval", "'check_interval' must be greater than zero"))
        }
        if s.minGCIntervalWhenSoftLimited < s.minGCIntervalWhenHardLimited {
            problems.append(("min_gc_interval_when_soft_limited",
                             "'min_gc_interval_when_soft_limited' should be larger than 'min_gc_interval_when_hard_limited'"))
        }
        if s.limitMiB == 0 && s.limitPercentage == 0 {
            problems.append(("limit_mib", "'limit_mib' or 'limit_percentage' must be greater than zero"))
        }
        if s.limitPercentage > 100 || s.spikeLimitPercentage > 100 {
            problems.append((s.limitPercentage > 100 ? "limit_percentage" : "spike_limit_percentage",
                             "'limit_percentage' and 'spike_limit_percentage' must be greater than zero and less than or equal to hundred"))
        }
        if s.limitMiB > 0 && s.limitMiB <= s.spikeLimitMiB {
            problems.append(("spike_limit_mib", "'spike_limit_mib' must be smaller than 'limit_mib'"))
        }
        if s.limitPercentage > 0 && s.limitPercentage <= s.spikeLimitPercentage {
            problems.append(("spike_limit_percentage", "'spike_limit_percentage' must be smaller than 'limit_percentage'"))
        }
        return problems
    }
}

extension MemoryLimiterFactory {
    /// Works out the limits (reading the total memory for percentages: a permanent error when
    /// it cannot be read, as upstream) and builds a processor on the id's shared monitor.
    public func makeProcessor(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Processor {
        let s = try context.settings(settings, as: MemoryLimiterSettings.self)
        let limits = try MemoryLimits(s, totalMemory: { () throws(ComponentError) in try TotalMemory(root: systemRoot).bytes() })
        let name = context.id.description
        let logger = context.logger
        let metrics = context.metrics
        let key = MonitorRegistry.Key(name: name, settings: s, metrics: ObjectIdentifier(metrics))
        let root = systemRoot
        return MemoryLimiterProcessor(name: name, metrics: metrics, registry: monitors, key: key) {
            logger.info(limits.summary(checkInterval: s.checkInterval))
            return MemoryMonitor(name: name, limits: limits, settings: s, metrics: metrics, logger: logger,
                                 environment: .system(root: root))
        }
    }
}
