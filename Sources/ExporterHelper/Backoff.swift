/// The retry delays of `retry_on_failure`: full jitter, a uniform delay in
/// [0, min(maxInterval, initialInterval * 2^attempt)] (AWS's "full jitter"; the OTel Collector
/// randomizes around the interval instead, which keeps clients in step after an outage), and
/// the server's `Retry-After` when it gives one.
public struct Backoff: Sendable {
    public var initialInterval: UInt64
    public var maxInterval: UInt64

    public init(_ settings: RetrySettings) {
        initialInterval = max(1, settings.initialInterval)
        maxInterval = max(initialInterval, settings.maxInterval)
    }

    /// The delay before retry `attempt` (from 0), in ns.
    public func delay(attempt: Int, random: (UInt64) -> UInt64 = { UInt64.random(in: 0...$0) }) -> UInt64 {
        let shift = min(attempt, 40)
        let (scaled, overflow) = initialInterval.multipliedReportingOverflow(by: 1 << UInt64(shift))
        let cap = overflow ? maxInterval : min(maxInterval, scaled)
        return random(cap)
    }

    /// `Retry-After` in delta-seconds, as ns (HTTP dates are not supported: nil, the plain
    /// backoff is used).
    public static func parseRetryAfter(_ value: String) -> UInt64? {
        let trimmed = value.filter { $0 != " " }
        guard let seconds = UInt64(trimmed), seconds < 86_400 else { return nil }
        return seconds * 1_000_000_000
    }
}
