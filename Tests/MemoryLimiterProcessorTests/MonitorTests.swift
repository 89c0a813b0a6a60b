import Buffers
import CollectorCore
import Testing
@testable import MemoryLimiterProcessor

/// The monitor's state machine on a fake RSS and clock: transitions, trims, logs and metrics.
@Suite struct MonitorTests {
    @Test func refusesAtTheSoftLimitAndResumesBelowIt() {
        let fake = FakeMemory()
        let metrics = MetricsRegistry()
        let monitor = makeMonitor(fake, metrics: metrics)   // soft 80 MiB, hard 100 MiB
        fake.set(mib: 50)
        monitor.begin()
        #expect(!monitor.mustRefuse)
        #expect(fake.takeLines().isEmpty)

        fake.set(mib: 80)   // at the soft limit: refused (upstream compares with >=)
        monitor.check()
        #expect(monitor.mustRefuse)
        #expect(fake.takeLines() == ["warn: processor/memory_limiter: Memory usage is above soft limit. Refusing data. cur_mem_mib=80"])

        fake.set(mib: 90)   // still refusing: no new line
        monitor.check()
        #expect(monitor.mustRefuse)
        #expect(fake.takeLines().isEmpty)

        fake.set(mib: 79)
        monitor.check()
        #expect(!monitor.mustRefuse)
        #expect(fake.takeLines() == ["info: processor/memory_limiter: Memory usage back within limits. Resuming normal operation. cur_mem_mib=79"])
        monitor.check()
        #expect(fake.takeLines().isEmpty)

        let labels = [("processor", "memory_limiter")]
        #expect(metrics.counter("collectord_memory_limiter_transitions_total", help: "", labels: labels + [("to", "refusing")]).current == 1)
        #expect(metrics.counter("collectord_memory_limiter_transitions_total", help: "", labels: labels + [("to", "normal")]).current == 1)
        #expect(fake.trims.load(ordering: .relaxed) == 0)
        monitor.end()
    }

    @Test func theGaugesShowTheLastCheck() {
        let fake = FakeMemory()
        let metrics = MetricsRegistry()
        let monitor = makeMonitor(fake, metrics: metrics, hard: 200, spike: 50)
        fake.set(mib: 160)
        monitor.begin()
        let text = metrics.render()
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("collectord_memory_limiter_") }.map(String.init)
        #expect(lines == [
            "collectord_memory_limiter_hard_limit_bytes{processor=\"memory_limiter\"} \(200 * mib)",
            "collectord_memory_limiter_refusing{processor=\"memory_limiter\"} 1",
            "collectord_memory_limiter_rss_bytes{processor=\"memory_limiter\"} \(160 * mib)",
            "collectord_memory_limiter_soft_limit_bytes{processor=\"memory_limiter\"} \(150 * mib)",
            "collectord_memory_limiter_transitions_total{processor=\"memory_limiter\",to=\"normal\"} 0",
            "collectord_memory_limiter_transitions_total{processor=\"memory_limiter\",to=\"refusing\"} 1",
            "collectord_memory_limiter_trims_total{processor=\"memory_limiter\"} 0",
        ])
        fake.set(mib: 10)
        monitor.check()
        #expect(metrics.render().contains("collectord_memory_limiter_refusing{processor=\"memory_limiter\"} 0\n"))
        #expect(metrics.render().contains("collectord_memory_limiter_rss_bytes{processor=\"memory_limiter\"} \(10 * mib)\n"))
        monitor.end()
        #expect(!metrics.render().contains("collectord_memory_limiter_rss_bytes"))
        #expect(metrics.render().contains("collectord_memory_limiter_transitions_total{processor=\"memory_limiter\",to=\"normal\"} 1\n"))
    }

    /// Above the hard limit the heap is trimmed at every check (min interval 0 by default);
    /// when that brings usage under the soft limit, nothing is refused.
    @Test func aboveTheHardLimitATrimThatFreesEnoughAvoidsRefusing() {
        let fake = FakeMemory()
        let monitor = makeMonitor(fake)
        monitor.begin()
        fake.clock.advance(by: 1_000_000_000)
        fake.set(mib: 120)
        fake.trimFrees.store(60 * mib, ordering: .relaxed)
        monitor.check()
        #expect(!monitor.mustRefuse)
        #expect(fake.trims.load(ordering: .relaxed) == 1)
        #expect(fake.takeLines() == [
            "warn: processor/memory_limiter: Memory usage is above hard limit. Trimming the heap (malloc_trim). cur_mem_mib=120",
            "info: processor/memory_limiter: Memory usage after trimming. cur_mem_mib=60",
        ])
        monitor.end()
    }

    /// Trims are spaced by the two minimum intervals: the soft one between the limits (10 s by
    /// default), the hard one above the hard limit.
    @Test func trimsAreSpacedByTheMinimumIntervals() {
        let fake = FakeMemory()
        let monitor = makeMonitor(fake) { $0.minGCIntervalWhenHardLimited = 2_000_000_000 }
        monitor.begin()
        fake.set(mib: 90)   // between soft (80) and hard (100)
        monitor.check()
        #expect(fake.trims.load(ordering: .relaxed) == 0, "the last trim counts from the start: 10 s have not passed")
        #expect(monitor.mustRefuse)
        _ = fake.takeLines()

        fake.clock.advance(by: 10_000_000_000)
        monitor.check()
        #expect(fake.trims.load(ordering: .relaxed) == 1)
        #expect(fake.takeLines() == [
            "info: processor/memory_limiter: Memory usage is above soft limit. Trimming the heap (malloc_trim). cur_mem_mib=90",
            "info: processor/memory_limiter: Memory usage after trimming. cur_mem_mib=90",
        ])

        fake.set(mib: 150)   // above hard: 2 s since the last trim needed
        fake.clock.advance(by: 1_000_000_000)
        monitor.check()
        #expect(fake.trims.load(ordering: .relaxed) == 1)
        fake.clock.advance(by: 1_000_000_000)
        monitor.check()
        #expect(fake.trims.load(ordering: .relaxed) == 2)
        #expect(monitor.mustRefuse)

        // The trim frees enough: back within limits, logged as a transition.
        fake.clock.advance(by: 2_000_000_000)
        fake.trimFrees.store(100 * mib, ordering: .relaxed)
        _ = fake.takeLines()
        monitor.check()
        #expect(!monitor.mustRefuse)
        #expect(fake.takeLines() == [
            "warn: processor/memory_limiter: Memory usage is above hard limit. Trimming the heap (malloc_trim). cur_mem_mib=150",
            "info: processor/memory_limiter: Memory usage after trimming. cur_mem_mib=50",
            "info: processor/memory_limiter: Memory usage back within limits. Resuming normal operation. cur_mem_mib=50",
        ])
        monitor.end()
    }

    @Test func theRealProcessIsMeasuredFromStatm() {
        #expect(ProcessMemory.residentBytes(statm: "12345 678 90 1 0 2 0\n", pageSize: 4096) == 678 * 4096)
        #expect(ProcessMemory.residentBytes(statm: "garbage", pageSize: 4096) == 0)
        let rss = ProcessMemory.residentBytes()
        #expect(rss > 1 << 20 && rss < 64 << 30, "RSS of the test process: \(rss)")
    }

    /// The real trim first lets go of the spare buffers the pools keep for the next request.
    @Test func theRealTrimEmptiesThePoolsFirst() {
        let pool = PayloadPool(limit: 4, maxBytes: 16 << 20, idleRelease: false)
        var spare: [UInt8] = []
        spare.reserveCapacity(1 << 20)
        pool.give(spare)
        #expect(pool.retained.count == 1)
        ProcessMemory.trim()
        #expect(pool.retained.count == 0 && pool.retained.bytes == 0)
        // Every pool of the process, the store's (for its block buffers) as well.
        var another: [UInt8] = []
        another.reserveCapacity(1 << 20)
        pool.give(another)
        let store = PayloadPool(limit: 3, maxBytes: 16 << 20, idleRelease: false)
        var block: [UInt8] = []
        block.reserveCapacity(2 << 20)
        store.give(block)
        #expect(pool.retained.count == 1 && store.retained.count == 1)
        ProcessMemory.trim()
        #expect(pool.retained.count == 0 && store.retained.count == 0)
    }
}
