import ExporterHelper

/// What Loki's answer to one push means (Vector's `LokiRetryLogic`, the OTel Collector's retry
/// meanings): 2xx is delivered; 429, 5xx and connection failures are retried (after the
/// server's `Retry-After` when it gives one, else after the helper's backoff); every other
/// status is permanent: the entries are dropped, counted and the body logged.
enum LokiRetryPolicy {
    /// Classifies an HTTP status (nil: no answer, the connection failed or timed out).
    static func classify(status: Int?, retryAfter: String?, why: String) -> SendAttempt {
        guard let status else { return .retry(after: nil, why) }
        switch status {
        case 200..<300: return .delivered
        case 429, 500..<600: return .retry(after: retryAfter.flatMap(Backoff.parseRetryAfter), why)
        default: return .permanent(why)
        }
    }
}
