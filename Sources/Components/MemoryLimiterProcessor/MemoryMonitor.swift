import CollectorCore
import Dispatch
import Synchronization

/// Measures the process's memory every `check_interval` and decides whether data must be
/// refused: the state machine of upstream's `memorylimiter.MemoryLimiter`, on the resident set
/// size instead of Go's heap.
///
/// Design:
/// - One monitor per component id, shared by the processors of every pipeline listing it
///   (`MonitorRegistry`); it runs while at least one of them is started.
/// - The decision is one `Atomic<Bool>` that `check` stores and the processors load once per
///   batch (relaxed: a batch seeing the previous check's answer is as good as upstream's).
/// - `check` (the timer's tick, on the monitor's own serial queue, or a test's call) reads the
///   RSS. Below the soft limit (hard - spike) data flows. At or above it data is refused; before
///   deciding, the heap is trimmed (every buffer pool's spares let go, then `malloc_trim(0)`)
///   when the last trim is older than
///   `min_gc_interval_when_hard_limited` (at or above the hard limit) or
///   `min_gc_interval_when_soft_limited` (between the limits), and the RSS read again: freed
///   memory glibc kept in its arenas may be all there is to give back. Swift has no garbage
///   collector, so this trim stands in for upstream's forced GC, with the same two intervals.
/// - Every transition is logged with upstream's wording and the usage in MiB (`cur_mem_mib`),
///   and counted; gauges show the last RSS measured, the limits and the decision.
/// - The first check runs when the monitor starts, so data is refused from the start when the
///   process is already over its limit (upstream waits one interval).
///
/// Thread-safe: checks are serialized by `state`'s lock; the decision and the last RSS are atomics.
public final class MemoryMonitor: Sendable {
    /// What the monitor measures with: the real process, or a test's fakes.
    struct Environment: Sendable {
        var clock: any MonotonicClock
        var residentBytes: @Sendable () -> UInt64
        var trim: @Sendable () -> Void
        /// Run `check` on a Dispatch timer every `check_interval` (tests call `check` instead).
        var ticks: Bool

        static func system(root: String = "") -> Environment {
            Environment(clock: SystemClock(), residentBytes: { ProcessMemory.residentBytes(root: root) },
                        trim: { ProcessMemory.trim() }, ticks: true)
        }
    }

    private struct State {
        var lastTrim: UInt64
        var timer: (any DispatchSourceTimer)?
        var gaugeIDs: [String: UInt64] = [:]
    }

    let name: String
    let limits: MemoryLimits
    let settings: MemoryLimiterSettings
    private let environment: Environment
    private let logger: Logger
    private let metrics: MetricsRegistry
    private let refusing = Atomic<Bool>(false)
    private let lastResident = Atomic<UInt64>(0)
    private let state: Mutex<State>
    private let toRefusing: Counter
    private let toNormal: Counter
    private let trims: Counter
    private let queue: DispatchQueue

    init(name: String, limits: MemoryLimits, settings: MemoryLimiterSettings, metrics: MetricsRegistry, logger: Logger,
         environment: Environment) {
        self.name = name
        self.limits = limits
        self.settings = settings
        self.environment = environment
        self.logger = logger
        self.metrics = metrics
        state = Mutex(State(lastTrim: environment.clock.now()))
        queue = DispatchQueue(label: "collectord.memory_limiter.\(name)")
        let labels = [("processor", name)]
        let help = "Transitions of the memory limiter between refusing data (to=refusing) and normal operation (to=normal)."
        toRefusing = metrics.counter("collectord_memory_limiter_transitions_total", help: help, labels: labels + [("to", "refusing")])
        toNormal = metrics.counter("collectord_memory_limiter_transitions_total", help: help, labels: labels + [("to", "normal")])
        trims = metrics.counter("collectord_memory_limiter_trims_total",
                                help: "Heap trims (malloc_trim) done above the soft or hard limit, in place of upstream's forced GCs.",
                                labels: labels)
    }

    /// True while memory is at or above the soft limit: data must be refused.
    var mustRefuse: Bool { refusing.load(ordering: .relaxed) }

    /// The RSS the last check measured, in bytes.
    var residentBytes: UInt64 { lastResident.load(ordering: .relaxed) }

    /// Registers the gauges, checks once, and starts the timer.
    func begin() {
        registerGauges()
        check()
        guard environment.ticks else { return }
        let interval = DispatchTimeInterval.nanoseconds(Int(min(settings.checkInterval, UInt64(Int.max))))
        state.withLock { s in
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now() + interval, repeating: interval)
            timer.setEventHandler { [weak self] in self?.check() }
            timer.resume()
            s.timer = timer
        }
    }

    /// Stops the timer and removes the gauges (unless a successor registered them since).
    func end() {
        let ids = state.withLock { s in
            s.timer?.cancel()
            s.timer = nil
            defer { s.gaugeIDs = [:] }
            return s.gaugeIDs
        }
        for (gauge, id) in ids { metrics.removeCallback(gauge, labels: [("processor", name)], id: id) }
    }

    /// One measurement and decision (the timer's tick).
    func check() {
        state.withLock { s in
            var usage = measure()
            guard usage >= limits.soft else {
                if refusing.load(ordering: .relaxed) { resume(usage) }
                return
            }
            let sinceTrim = environment.clock.now() &- s.lastTrim
            if usage >= limits.hard {
                if sinceTrim >= settings.minGCIntervalWhenHardLimited {
                    logger.warn("Memory usage is above hard limit. Trimming the heap (malloc_trim). \(Self.field(usage))")
                    usage = trimAndMeasure(&s)
                }
            } else if sinceTrim >= settings.minGCIntervalWhenSoftLimited {
                logger.info("Memory usage is above soft limit. Trimming the heap (malloc_trim). \(Self.field(usage))")
                usage = trimAndMeasure(&s)
            }
            let above = usage >= limits.soft
            if above && !refusing.load(ordering: .relaxed) {
                logger.warn("Memory usage is above soft limit. Refusing data. \(Self.field(usage))")
                refusing.store(true, ordering: .relaxed)
                toRefusing.increment()
            } else if !above && refusing.load(ordering: .relaxed) {
                resume(usage)
            }
        }
    }

    private func resume(_ usage: UInt64) {
        logger.info("Memory usage back within limits. Resuming normal operation. \(Self.field(usage))")
        refusing.store(false, ordering: .relaxed)
        toNormal.increment()
    }

    private func measure() -> UInt64 {
        let usage = environment.residentBytes()
        lastResident.store(usage, ordering: .relaxed)
        return usage
    }

    private func trimAndMeasure(_ s: inout State) -> UInt64 {
        environment.trim()
        trims.increment()
        s.lastTrim = environment.clock.now()
        let usage = measure()
        logger.info("Memory usage after trimming. \(Self.field(usage))")
        return usage
    }

    /// Upstream's zap field, `cur_mem_mib`.
    static func field(_ bytes: UInt64) -> String { "cur_mem_mib=\(bytes / MemoryLimits.mib)" }

    private func registerGauges() {
        let labels = [("processor", name)]
        let soft = Double(limits.soft)
        let hard = Double(limits.hard)
        let gauges: [(String, String, @Sendable () -> Double)] = [
            ("collectord_memory_limiter_rss_bytes", "Resident set size at the memory limiter's last check [By]",
             { [weak self] in Double(self?.residentBytes ?? 0) }),
            ("collectord_memory_limiter_soft_limit_bytes", "The memory limiter's soft limit (limit - spike): data is refused at or above it [By]",
             { soft }),
            ("collectord_memory_limiter_hard_limit_bytes", "The memory limiter's hard limit: the heap is trimmed at or above it [By]",
             { hard }),
            ("collectord_memory_limiter_refusing", "1 while the memory limiter refuses data, else 0",
             { [weak self] in self?.mustRefuse == true ? 1 : 0 }),
        ]
        var ids: [String: UInt64] = [:]
        for (gauge, help, sample) in gauges {
            ids[gauge] = metrics.callback(gauge, help: help, labels: labels, sample: sample)
        }
        state.withLock { $0.gaugeIDs = ids }
    }
}
