import CollectorCore
import CollectorTesting
import Testing
@testable import MemoryLimiterProcessor

/// The config as upstream reads it: keys, defaults, and its validation messages (all at once).
@Suite struct ConfigTests {
    static let parser = ConfigParser(factories: [StubComponentFactory(type: "otlp", kind: .receiver), MemoryLimiterFactory(),
                                                 StubComponentFactory(type: "nop", kind: .exporter)])

    static func yaml(_ body: String) -> String {
        """
        receivers: {otlp: {}}
        processors:
          memory_limiter:
        \(body)
        exporters: {nop: {}}
        service:
          pipelines:
            traces: {receivers: [otlp], processors: [memory_limiter], exporters: [nop]}
            logs: {receivers: [otlp], processors: [memory_limiter], exporters: [nop]}
        """
    }

    static func settings(_ body: String) throws -> MemoryLimiterSettings {
        let config = try parser.parse(yaml: yaml(body), file: "t.yaml", environment: [:])
        return try #require(config.components[.processor]?.first?.settings as? MemoryLimiterSettings)
    }

    /// The problems of `body`, as "path (line N): message".
    static func problems(_ body: String) -> [String] {
        do {
            _ = try parser.parse(yaml: yaml(body), file: "t.yaml", environment: [:])
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    @Test func everyKeyIsRead() throws {
        let s = try Self.settings("""
                check_interval: 2s
                limit_mib: 4000
                spike_limit_mib: 800
                limit_percentage: 80
                spike_limit_percentage: 15
                min_gc_interval_when_soft_limited: 30s
                min_gc_interval_when_hard_limited: 5s
            """)
        #expect(s.checkInterval == 2_000_000_000)
        #expect(s.limitMiB == 4000 && s.spikeLimitMiB == 800)
        #expect(s.limitPercentage == 80 && s.spikeLimitPercentage == 15)
        #expect(s.minGCIntervalWhenSoftLimited == 30_000_000_000 && s.minGCIntervalWhenHardLimited == 5_000_000_000)
    }

    @Test func defaultsAreUpstreams() throws {
        let s = try Self.settings("    check_interval: 1s\n    limit_mib: 100")
        var expected = MemoryLimiterSettings()
        expected.checkInterval = 1_000_000_000
        expected.limitMiB = 100
        #expect(s == expected)
        #expect(s.minGCIntervalWhenSoftLimited == 10_000_000_000 && s.minGCIntervalWhenHardLimited == 0)
        #expect(s.spikeLimitMiB == 0 && s.limitPercentage == 0 && s.spikeLimitPercentage == 0)
    }

    @Test func anEmptyConfigNeedsAnIntervalAndALimit() {
        #expect(Self.problems("    {}") == [
            "processors.memory_limiter.check_interval (line 4): 'check_interval' must be greater than zero",
            "processors.memory_limiter.limit_mib (line 4): 'limit_mib' or 'limit_percentage' must be greater than zero",
        ])
    }

    @Test func eachUpstreamMessageOnItsKey() {
        #expect(Self.problems("    check_interval: 0s\n    limit_mib: 100") == [
            "processors.memory_limiter.check_interval (line 4): 'check_interval' must be greater than zero",
        ])
        #expect(Self.problems("    check_interval: 1s\n    limit_mib: 100\n    spike_limit_mib: 100") == [
            "processors.memory_limiter.spike_limit_mib (line 6): 'spike_limit_mib' must be smaller than 'limit_mib'",
        ])
        #expect(Self.problems("    check_interval: 1s\n    limit_percentage: 50\n    spike_limit_percentage: 60") == [
            "processors.memory_limiter.spike_limit_percentage (line 6): 'spike_limit_percentage' must be smaller than 'limit_percentage'",
        ])
        #expect(Self.problems("    check_interval: 1s\n    limit_percentage: 101") == [
            "processors.memory_limiter.limit_percentage (line 5): 'limit_percentage' and 'spike_limit_percentage' must be greater than zero and less than or equal to hundred",
        ])
        #expect(Self.problems("    check_interval: 1s\n    limit_mib: 10\n    min_gc_interval_when_soft_limited: 1s\n    min_gc_interval_when_hard_limited: 2s") == [
            "processors.memory_limiter.min_gc_interval_when_soft_limited (line 6): 'min_gc_interval_when_soft_limited' should be larger than 'min_gc_interval_when_hard_limited'",
        ])
    }

    /// Problems come sorted by line; a value that cannot be read counts as unset.
    @Test func typeErrorsNameTheKey() {
        #expect(Self.problems("    check_interval: soon\n    limit_mib: -1") == [
            "processors.memory_limiter.check_interval (line 4): expected a duration such as 200ms, 5s or 1m, found \"soon\"",
            "processors.memory_limiter.check_interval (line 4): 'check_interval' must be greater than zero",
            "processors.memory_limiter.limit_mib (line 5): -1 is out of range 0...4294967295",
            "processors.memory_limiter.limit_mib (line 5): 'limit_mib' or 'limit_percentage' must be greater than zero",
        ])
        #expect(Self.problems("    check_interval: 1s\n    limit_mib: 10\n    limit: 5") == [
            "processors.memory_limiter.limit (line 6): unknown key \"limit\"",
        ])
    }

    @Test func limitsFromMiBTakePrecedenceAndTheSpikeDefaultsToAFifth() throws {
        var s = MemoryLimiterSettings()
        s.checkInterval = 1
        s.limitMiB = 4000
        s.limitPercentage = 50
        let fixed = try MemoryLimits(s, totalMemory: { () throws(ComponentError) in Issue.record("read"); return .init(bytes: 0, source: "") })
        #expect(fixed == MemoryLimits(hard: 4000 * mib, spike: 800 * mib))
        #expect(fixed.soft == 3200 * mib && fixed.spike == 800 * mib)
        s.spikeLimitMiB = 1000
        #expect(try MemoryLimits(s, totalMemory: { .init(bytes: 0, source: "") }).soft == 3000 * mib)
        #expect(fixed.summary(checkInterval: 1_000_000_000) == "Memory limiter configured limit_mib=4000 spike_limit_mib=800 check_interval=1000ms")
    }

    /// Upstream's README example: 80% and 15% of 1000 MiB are 800 and 650 MiB.
    @Test func percentagesOfTheTotalMemory() throws {
        var s = MemoryLimiterSettings()
        s.limitPercentage = 80
        s.spikeLimitPercentage = 15
        let total = TotalMemory.Reading(bytes: 1000 * mib, source: "/proc/meminfo MemTotal")
        let limits = try MemoryLimits(s, totalMemory: { total })
        #expect(limits.hard == 800 * mib && limits.soft == 650 * mib)
        #expect(limits.summary(checkInterval: 500_000_000)
            == "Memory limiter configured limit_mib=800 spike_limit_mib=150 check_interval=500ms; using percentage memory limiter total_memory_mib=1000 (/proc/meminfo MemTotal)")
        s.spikeLimitPercentage = 0
        #expect(try MemoryLimits(s, totalMemory: { total }).spike == 160 * mib)
        #expect(throws: ComponentError.permanent("failed to get total memory, use fixed memory settings (limit_mib): no meminfo")) {
            try MemoryLimits(s, totalMemory: { () throws(ComponentError) in throw .permanent("no meminfo") })
        }
    }
}
