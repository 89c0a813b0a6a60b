import CollectorCore
import Synchronization
import Testing
@testable import MemoryLimiterProcessor

/// The processor: an atomic decision per batch, a retryable refusal through the batch's
/// tokens, upstream's counters, one monitor shared by the pipelines of one id.
@Suite struct ProcessorTests {
    /// Two processors of one id (the traces and logs pipelines) on a fake monitor.
    struct Pair {
        let fake: FakeMemory
        let metrics: MetricsRegistry
        let registry: MonitorRegistry
        let traces: MemoryLimiterProcessor
        let logs: MemoryLimiterProcessor

        init() {
            let (fake, metrics, registry) = (FakeMemory(), MetricsRegistry(), MonitorRegistry())
            (self.fake, self.metrics, self.registry) = (fake, metrics, registry)
            var s = MemoryLimiterSettings()
            s.checkInterval = 1_000_000_000
            s.limitMiB = 100
            let key = MonitorRegistry.Key(name: "memory_limiter", settings: s, metrics: ObjectIdentifier(metrics))
            func make() -> MemoryLimiterProcessor {
                MemoryLimiterProcessor(name: "memory_limiter", metrics: metrics, registry: registry, key: key) {
                    makeMonitor(fake, metrics: metrics)
                }
            }
            traces = make()
            logs = make()
        }

        func counter(_ name: String) -> UInt64 {
            metrics.counter(name, help: "", labels: [("processor", "memory_limiter")]).current
        }
    }

    /// Runs `batch` through `p`; returns what was emitted and how its token completed.
    static func run(_ p: MemoryLimiterProcessor, _ signal: Signal, items: Int) -> (emitted: Int, completion: ComponentError??) {
        let completion = Mutex<ComponentError??>(.none)
        let token = AckToken { error in completion.withLock { $0 = .some(error) } }
        var emitted: [TelemetryBatch] = []
        p.process(TelemetryBatch(signal: signal, payload: [1, 2, 3], itemCount: items, tokens: [token]), now: 0) { emitted.append($0) }
        for b in emitted { b.complete() }
        return (emitted.map(\.itemCount).reduce(0, +), completion.withLock { $0 })
    }

    @Test func refusesWithARetryableErrorWhileAboveTheSoftLimit() throws {
        let pair = Pair()
        pair.fake.set(mib: 10)
        try pair.traces.start()
        try pair.logs.start()

        let ok = Self.run(pair.traces, .traces, items: 4)
        #expect(ok.emitted == 4)
        #expect(ok.completion == .some(nil))

        pair.fake.set(mib: 85)
        try #require(pair.traces.monitor).check()
        let refused = Self.run(pair.traces, .traces, items: 3)
        #expect(refused.emitted == 0)
        let error = try #require(refused.completion ?? nil)
        #expect(error == ComponentError.retryable("data refused due to high memory usage"))
        #expect(error.isRetryable && error.retryAfterSeconds == nil)
        // The logs pipeline's processor shares the decision.
        #expect(Self.run(pair.logs, .logs, items: 5).emitted == 0)

        pair.fake.set(mib: 20)
        try #require(pair.logs.monitor).check()
        #expect(Self.run(pair.logs, .logs, items: 2).emitted == 2)

        #expect(pair.counter("otelcol_processor_accepted_spans_total") == 4)
        #expect(pair.counter("otelcol_processor_refused_spans_total") == 3)
        #expect(pair.counter("otelcol_processor_accepted_log_records_total") == 2)
        #expect(pair.counter("otelcol_processor_refused_log_records_total") == 5)
        pair.traces.shutdown()
        pair.logs.shutdown()
    }

    @Test func oneMonitorPerIdRunsWhileAnyOfItsProcessorsDoes() throws {
        let pair = Pair()
        #expect(pair.registry.count == 0)
        pair.traces.shutdown()   // safe without start
        try pair.traces.start()
        try pair.traces.start()   // a second start takes no second reference
        try pair.logs.start()
        #expect(pair.registry.count == 1)
        #expect(pair.traces.monitor === pair.logs.monitor)
        #expect(pair.metrics.render().contains("collectord_memory_limiter_refusing{processor=\"memory_limiter\"} 0\n"))
        pair.traces.shutdown()
        pair.traces.shutdown()   // idempotent
        #expect(pair.registry.count == 1)
        pair.logs.shutdown()
        #expect(pair.registry.count == 0)
        #expect(!pair.metrics.render().contains("collectord_memory_limiter_refusing"))
    }

    /// The factory's monitor: the system's RSS against limits from the config, with its log line.
    @Test func theFactoryBuildsAProcessorOnTheRealProcess() throws {
        var s = MemoryLimiterSettings()
        s.checkInterval = 3_600_000_000_000   // the timer never fires during the test
        s.limitMiB = 1
        let metrics = MetricsRegistry()
        let lines = Mutex<[String]>([])
        let logger = Logger(minimum: .info, component: "processor/memory_limiter", sink: { level, line in lines.withLock { $0.append("\(level): \(line)") } })
        let context = try makeContext(ComponentID(type: "memory_limiter"), metrics: metrics, logger: logger)
        let p = try #require(try MemoryLimiterFactory().makeProcessor(s, context: context) as? MemoryLimiterProcessor)
        try p.start()
        defer { p.shutdown() }
        // Any process is above 1 MiB: refused from the first (immediate) check.
        #expect(p.monitor?.mustRefuse == true)
        let logged = lines.withLock { $0 }
        #expect(logged.first == "info: processor/memory_limiter: Memory limiter configured limit_mib=1 spike_limit_mib=0 check_interval=3600000ms")
        #expect(logged.contains { $0.hasPrefix("warn: processor/memory_limiter: Memory usage is above soft limit. Refusing data. cur_mem_mib=") })
        #expect(Self.run(p, .traces, items: 1).emitted == 0)
    }
}
