import CollectorCore

/// What one attempt to send came to, as the exporter classified the backend's answer.
public enum SendAttempt: Sendable, Equatable {
    case delivered
    /// Refused for good (a 4xx other than the retryable ones, INVALID_ARGUMENT...): drop.
    case permanent(String)
    /// Worth retrying (429, 503, UNAVAILABLE, a connection failure...); `after` is the
    /// server's own delay in ns (Retry-After, RetryInfo) when it gave one.
    case retry(after: UInt64?, String)
}

/// How a delivery ended.
public enum Delivery: Sendable, Equatable {
    case delivered
    /// Refused permanently: the data is dropped (and the exporter counts it).
    case dropped(String)
    /// Still failing when the give-up time ran out, or retries are disabled (only without a
    /// disk queue: the client is told to retry).
    case gaveUp(String)
    /// Shutdown interrupted a retry wait: not delivered (it stays queued, if queued).
    case interrupted
}

/// The retry sender of the exporter helper (upstream's queue -> retry -> timeout -> send
/// chain; the timeout is the client's per-request deadline): runs attempts until one is
/// delivered or refused for good, waiting per `Backoff` (or the server's delay) in between,
/// interruptible by the exporter's `StopSignal`. Stateless; called from one thread per delivery.
public struct Retrier: Sendable {
    public let settings: RetrySettings
    public let backoff: Backoff
    public let clock: any MonotonicClock
    public let stop: StopSignal

    public init(settings: RetrySettings, clock: any MonotonicClock, stop: StopSignal) {
        self.settings = settings
        self.backoff = Backoff(settings)
        self.clock = clock
        self.stop = stop
    }

    /// Runs `attempt` until it delivers, is refused permanently, `stop` interrupts a wait, or
    /// `giveUpAfter` ns passed (nil: never give up, as a disk queue's sender does; 0 too).
    /// `onRetry(retry number, delay ns, reason)` is called before each wait (logs, metrics).
    public func run(giveUpAfter: UInt64?, onRetry: (Int, UInt64, String) -> Void,
                    _ attempt: () -> SendAttempt) -> Delivery {
        let start = clock.now()
        var retries = 0
        while true {
            switch attempt() {
            case .delivered:
                return .delivered
            case .permanent(let why):
                return .dropped(why)
            case .retry(let after, let why):
                let delay = after ?? backoff.delay(attempt: retries)
                if !settings.enabled && giveUpAfter != nil {
                    return .gaveUp("\(why); retries are disabled")
                }
                if let limit = giveUpAfter, limit > 0, clock.now() - start + delay > limit {
                    return .gaveUp("\(why) for \((clock.now() - start) / 1_000_000_000)s; giving up")
                }
                retries += 1
                onRetry(retries, delay, why)
                if !stop.sleep(delay) { return .interrupted }
            }
        }
    }
}

extension Delivery {
    /// A synchronous export's answer to its client: nothing for delivered, a permanent error
    /// for dropped data, a retryable one when it gave up or was interrupted by shutdown.
    public func throwIfFailed(exporter: String) throws(ComponentError) {
        switch self {
        case .delivered: return
        case .dropped(let why): throw .permanent("\(exporter): \(why)")
        case .gaveUp(let why): throw .retryable("\(exporter): \(why)")
        case .interrupted: throw .retryable("\(exporter): shutting down")
        }
    }
}
