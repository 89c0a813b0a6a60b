import Dispatch
import Synchronization

/// Monotonic time in nanoseconds, injected so batching and timeouts are tested without sleeping.
public protocol MonotonicClock: Sendable {
    func now() -> UInt64
}

/// The real clock (`DispatchTime`, which does not jump with wall-clock changes).
public struct SystemClock: MonotonicClock {
    public init() {}
    public func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}

/// How old a time stamp is at `now`, in the same unit: 0 for a stamp later than `now` (taken
/// on another thread after `now` was read), where `now - stamp` would wrap around to "very old"
/// and expire what was just updated.
@inlinable
public func age(of stamp: UInt64, at now: UInt64) -> UInt64 { now > stamp ? now - stamp : 0 }

/// A clock that only moves when told to.
public final class ManualClock: MonotonicClock {
    private let current: Atomic<UInt64>
    public init(_ start: UInt64 = 1_000_000_000) { current = Atomic(start) }
    public func now() -> UInt64 { current.load(ordering: .relaxed) }
    public func advance(by nanoseconds: UInt64) { current.add(nanoseconds, ordering: .relaxed) }
}
