import CollectorCore

/// The hard and soft limits in bytes, worked out from the settings as upstream's
/// `memUsageChecker` does: `limit_mib` when set, else `limit_percentage` of the total memory;
/// the spike is `spike_limit_*`, or 20% of the hard limit when that is 0; soft = hard - spike.
struct MemoryLimits: Sendable, Equatable {
    static let mib: UInt64 = 1 << 20

    var hard: UInt64
    var spike: UInt64
    /// The total memory the percentages were taken of (nil: fixed limits).
    var totalMemory: TotalMemory.Reading?

    var soft: UInt64 { hard - spike }

    init(hard: UInt64, spike: UInt64, totalMemory: TotalMemory.Reading? = nil) {
        self.hard = hard
        self.spike = spike == 0 ? hard / 5 : spike
        self.totalMemory = totalMemory
    }

    /// `totalMemory` is only asked for percentages.
    init(_ s: MemoryLimiterSettings, totalMemory: () throws(ComponentError) -> TotalMemory.Reading) throws(ComponentError) {
        if s.limitMiB != 0 {
            self.init(hard: UInt64(s.limitMiB) * Self.mib, spike: UInt64(s.spikeLimitMiB) * Self.mib)
            return
        }
        let total: TotalMemory.Reading
        do {
            total = try totalMemory()
        } catch {
            throw .permanent("failed to get total memory, use fixed memory settings (limit_mib): \(error.message)")
        }
        self.init(hard: UInt64(s.limitPercentage) * total.bytes / 100, spike: UInt64(s.spikeLimitPercentage) * total.bytes / 100,
                  totalMemory: total)
    }

    /// Upstream's "Memory limiter configured" line (and its "Using percentage memory limiter").
    func summary(checkInterval: UInt64) -> String {
        var line = "Memory limiter configured limit_mib=\(hard / Self.mib) spike_limit_mib=\(spike / Self.mib) "
            + "check_interval=\(checkInterval / 1_000_000)ms"
        if let totalMemory {
            line += "; using percentage memory limiter total_memory_mib=\(totalMemory.bytes / Self.mib) (\(totalMemory.source))"
        }
        return line
    }
}
