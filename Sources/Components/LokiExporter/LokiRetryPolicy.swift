/// What to do with the answer to one push (Vector's `LokiRetryLogic`, the OTel Collector's
/// retry meanings): 2xx is delivered; 429, 5xx and connection failures are retried (after the
/// server's `Retry-After` when it gives one, else after a full-jitter exponential backoff);
/// every other status is permanent: the entries are dropped, counted and the body logged.
struct LokiRetryPolicy: Sendable {
    enum Outcome: Equatable, Sendable {
        case delivered
        case permanent
        /// Retry; `after` is the server's Retry-After in ns, if it sent one.
        case retry(after: UInt64?)
    }

    var initialInterval: UInt64
    var maxInterval: UInt64

    init(_ settings: LokiRetrySettings) {
        initialInterval = max(1, settings.initialInterval)
        maxInterval = max(initialInterval, settings.maxInterval)
    }

    /// Classifies an HTTP status (nil: no answer, the connection failed or timed out).
    func classify(status: Int?, retryAfter: String?) -> Outcome {
        guard let status else { return .retry(after: nil) }
        switch status {
        case 200..<300: return .delivered
        case 429, 500..<600: return .retry(after: retryAfter.flatMap(Self.parseRetryAfter))
        default: return .permanent
        }
    }

    /// Full jitter: a uniform delay in [0, min(maxInterval, initial * 2^attempt)] (attempt from 0).
    func backoff(attempt: Int, random: (UInt64) -> UInt64 = { UInt64.random(in: 0...$0) }) -> UInt64 {
        let shift = min(attempt, 40)
        let (scaled, overflow) = initialInterval.multipliedReportingOverflow(by: 1 << UInt64(shift))
        let cap = overflow ? maxInterval : min(maxInterval, scaled)
        return random(cap)
    }

    /// `Retry-After` in delta-seconds (HTTP dates are not supported: nil, plain backoff is used).
    static func parseRetryAfter(_ value: String) -> UInt64? {
        let trimmed = value.filter { $0 != " " }
        guard let seconds = UInt64(trimmed), seconds < 86_400 else { return nil }
        return seconds * 1_000_000_000
    }
}
