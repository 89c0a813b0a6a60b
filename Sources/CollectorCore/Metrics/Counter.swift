import Synchronization

/// A monotonically increasing count (a Prometheus counter). Lock-free.
public final class Counter: Sendable {
    private let value = Atomic<UInt64>(0)
    public init() {}
    public func add(_ n: Int) {
        if n > 0 { value.add(UInt64(n), ordering: .relaxed) }
    }
    public func increment() { add(1) }
    public var current: UInt64 { value.load(ordering: .relaxed) }
}

/// A value that goes up and down (a Prometheus gauge), set by its owner.
public final class Gauge: Sendable {
    private let value = Atomic<Int64>(0)
    public init() {}
    public func set(_ v: Int) { value.store(Int64(v), ordering: .relaxed) }
    public func add(_ v: Int) { value.add(Int64(v), ordering: .relaxed) }
    public var current: Int64 { value.load(ordering: .relaxed) }
}

/// Explicit histogram buckets (OTLP's `explicit_bounds`, Prometheus's `le`): bucket i counts
/// the values in (bounds[i-1], bounds[i]]; the last, bounds.count, those above every bound.
public enum ExplicitBuckets {
    /// The bucket of `value` among ascending `bounds` (NaN is above every bound).
    @inlinable
    public static func index(of value: Double, in bounds: [Double]) -> Int {
        var i = 0
        while i < bounds.count && !(value <= bounds[i]) { i &+= 1 }
        return i
    }
}

/// An explicit-bucket histogram as it accumulates: count, sum and a count per bucket
/// (`bounds.count + 1` of them, see `ExplicitBuckets`). The RED connectors' series and the
/// collector's own `Histogram` keep one each.
public struct ExplicitHistogram: Sendable, Equatable {
    public var count: UInt64 = 0
    public var sum: Double = 0
    public var buckets: [UInt64]

    /// An empty histogram over `bounds` bounds.
    public init(bounds: Int) { buckets = [UInt64](repeating: 0, count: bounds + 1) }

    /// `value` seen `weight` times, bucketed among `bounds` (those the histogram was made for).
    @inlinable
    public mutating func observe(_ value: Double, weight: UInt64 = 1, bounds: [Double]) {
        count &+= weight
        sum += value * Double(weight)
        buckets[ExplicitBuckets.index(of: value, in: bounds)] &+= weight
    }
}

/// A Prometheus histogram with fixed upper bounds.
public final class Histogram: Sendable {
    public let bounds: [Double]
    private let state: Mutex<ExplicitHistogram>

    public init(bounds: [Double]) {
        self.bounds = bounds.sorted()
        state = Mutex(ExplicitHistogram(bounds: bounds.count))
    }

    public func observe(_ v: Double) {
        state.withLock { $0.observe(v, bounds: bounds) }
    }

    /// Cumulative bucket counts (per bound), sum and count.
    public var snapshot: (cumulative: [UInt64], sum: Double, count: UInt64) {
        state.withLock { s in
            var running: UInt64 = 0
            let cumulative = s.buckets.dropLast().map { running += $0; return running }
            return (cumulative, s.sum, s.count)
        }
    }
}
