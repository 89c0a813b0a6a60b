import CollectorCore
import Testing
@testable import MemoryLimiterProcessor

/// The memory percentages are taken of: the cgroup's limit (v1 or v2, the smallest of the
/// cgroup and its ancestors), else MemTotal, read from a fake `/proc` and `/sys`.
@Suite struct TotalMemoryTests {
    static let gib: UInt64 = 1 << 30

    @Test func cgroupV2LimitOfTheProcesssCgroup() throws {
        let root = try FakeRoot()
        try root.memInfo(kib: 16 * 1024 * 1024)   // 16 GiB
        try root.write("/proc/self/cgroup", "0::/kubepods/pod1/ctr\n")
        try root.write("/sys/fs/cgroup/memory.max", "max\n")
        try root.write("/sys/fs/cgroup/kubepods/memory.max", "max\n")
        try root.write("/sys/fs/cgroup/kubepods/pod1/memory.max", "\(3 * Self.gib)\n")
        try root.write("/sys/fs/cgroup/kubepods/pod1/ctr/memory.max", "\(2 * Self.gib)\n")
        #expect(try TotalMemory(root: root.path).bytes()
            == .init(bytes: 2 * Self.gib, source: "/sys/fs/cgroup/kubepods/pod1/ctr/memory.max"))

        // A tighter ancestor bounds the process too.
        try root.write("/sys/fs/cgroup/kubepods/memory.max", "\(Self.gib)\n")
        #expect(try TotalMemory(root: root.path).bytes() == .init(bytes: Self.gib, source: "/sys/fs/cgroup/kubepods/memory.max"))
    }

    @Test func cgroupV2WithoutALimitFallsBackToMemTotal() throws {
        let root = try FakeRoot()
        try root.memInfo(kib: 1_024_000)
        try root.write("/proc/self/cgroup", "0::/\n")
        try root.write("/sys/fs/cgroup/memory.max", "max\n")
        #expect(try TotalMemory(root: root.path).bytes() == .init(bytes: 1_024_000 * 1024, source: "/proc/meminfo MemTotal"))
    }

    /// Docker on cgroup v1 without a cgroup namespace: /proc/self/cgroup names the host's path,
    /// and the container sees its own cgroup at the mount's top.
    @Test func cgroupV1AtTheMountsTop() throws {
        let root = try FakeRoot()
        try root.memInfo(kib: 8 * 1024 * 1024)
        try root.write("/proc/self/cgroup", "12:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/system.slice/docker-abc.scope\n")
        try root.write("/sys/fs/cgroup/memory/memory.limit_in_bytes", "536870912\n")
        #expect(try TotalMemory(root: root.path).bytes()
            == .init(bytes: 512 << 20, source: "/sys/fs/cgroup/memory/memory.limit_in_bytes"))
    }

    /// v1's "unlimited" (this machine's own value) and a limit above the machine's memory.
    @Test func hugeLimitsMeanNoLimit() throws {
        let root = try FakeRoot()
        try root.memInfo(kib: 4 * 1024 * 1024)
        try root.write("/proc/self/cgroup", "4:memory:/process_api/x\n0::/\n")
        try root.write("/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n")
        try root.write("/sys/fs/cgroup/memory/process_api/x/memory.limit_in_bytes", "9223372036854771712\n")
        #expect(try TotalMemory(root: root.path).bytes() == .init(bytes: 4 * Self.gib, source: "/proc/meminfo MemTotal"))
        try root.write("/sys/fs/cgroup/memory/process_api/memory.limit_in_bytes", "\(64 * Self.gib)\n")
        #expect(try TotalMemory(root: root.path).bytes() == .init(bytes: 4 * Self.gib, source: "/proc/meminfo MemTotal"))
    }

    /// A hybrid host: v1 hierarchies without the memory controller, v2 mounted at unified/.
    @Test func hybridHostReadsTheUnifiedMount() throws {
        let root = try FakeRoot()
        try root.memInfo(kib: 4 * 1024 * 1024)
        try root.write("/proc/self/cgroup", "3:cpu:/a\n0::/user.slice\n")
        try root.write("/sys/fs/cgroup/unified/memory.max", "max\n")
        try root.write("/sys/fs/cgroup/unified/user.slice/memory.max", "1073741824\n")
        #expect(try TotalMemory(root: root.path).bytes()
            == .init(bytes: Self.gib, source: "/sys/fs/cgroup/unified/user.slice/memory.max"))
    }

    @Test func nothingReadableIsAnError() throws {
        let root = try FakeRoot()
        #expect(throws: ComponentError.permanent("cannot read MemTotal from \(root.path)/proc/meminfo")) {
            try TotalMemory(root: root.path).bytes()
        }
    }

    /// The factory takes percentages of what it reads (here 50% and 10% of a 2 GiB cgroup).
    @Test func theFactoryUsesIt() throws {
        let root = try FakeRoot()
        try root.memInfo(kib: 16 * 1024 * 1024)
        try root.write("/proc/self/cgroup", "0::/\n")
        try root.write("/sys/fs/cgroup/memory.max", "\(2 * Self.gib)\n")
        var s = MemoryLimiterSettings()
        s.checkInterval = 3_600_000_000_000
        s.limitPercentage = 50
        s.spikeLimitPercentage = 10
        let metrics = MetricsRegistry()
        let context = try makeContext(ComponentID(type: "memory_limiter", name: "pct"), metrics: metrics, logger: .discarding)
        let p = try #require(try MemoryLimiterFactory(systemRoot: root.path).makeProcessor(s, context: context) as? MemoryLimiterProcessor)
        try p.start()
        defer { p.shutdown() }
        #expect(p.monitor?.limits == MemoryLimits(hard: Self.gib, spike: 2 * Self.gib / 10,
                                                  totalMemory: .init(bytes: 2 * Self.gib, source: "/sys/fs/cgroup/memory.max")))
        #expect(metrics.render().contains("collectord_memory_limiter_hard_limit_bytes{processor=\"memory_limiter/pct\"} \(Self.gib)\n"))
    }
}
