import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Calls `flush` every `interval` on its own serial queue, from `start` until `stop`, which
/// calls it once more (components that emit what they aggregate: the `spanmetrics` and
/// `servicegraph` connectors).
///
/// `@unchecked Sendable`: `timer` is only touched on `queue` (`start` and `stop` go through it).
public final class PeriodicFlush: @unchecked Sendable {
    private let queue: DispatchQueue
    private let interval: UInt64
    private let flush: @Sendable () -> Void
    private var timer: (any DispatchSourceTimer)?

    /// - Parameter flush: what to run; it must not capture the owner strongly if the owner
    ///   holds this (pass a weak reference).
    public init(label: String, interval: UInt64, flush: @escaping @Sendable () -> Void) {
        self.queue = DispatchQueue(label: label)
        self.interval = interval
        self.flush = flush
    }

    public func start() {
        queue.sync {
            guard timer == nil else { return }
            let t = DispatchSource.makeTimerSource(queue: queue)
            let every = DispatchTimeInterval.nanoseconds(Int(min(interval, UInt64(Int.max))))
            t.schedule(deadline: .now() + every, repeating: every)
            t.setEventHandler { [flush] in flush() }
            t.resume()
            timer = t
        }
    }

    /// Stops the timer and flushes once more (nothing when it was not started). Idempotent.
    public func stop() {
        queue.sync {
            guard let t = timer else { return }
            t.cancel()
            timer = nil
            flush()
        }
    }
}

/// Wall-clock time, unix nanoseconds (timestamps of data points the collector makes).
public enum WallClock {
    public static let unixNanos: @Sendable () -> UInt64 = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
