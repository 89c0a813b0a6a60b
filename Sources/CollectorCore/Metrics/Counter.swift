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

/// A Prometheus histogram with fixed upper bounds.
public final class Histogram: Sendable {
    public let bounds: [Double]
    private struct State {
        var buckets: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }
    private let state: Mutex<State>

    public init(bounds: [Double]) {
        self.bounds = bounds.sorted()
        state = Mutex(State(buckets: Array(repeating: 0, count: bounds.count)))
    }

    public func observe(_ v: Double) {
        state.withLock { s in
            if let i = bounds.firstIndex(where: { v <= $0 }) { s.buckets[i] += 1 }
            s.sum += v
            s.count += 1
        }
    }

    /// Cumulative bucket counts (per bound), sum and count.
    public var snapshot: (cumulative: [UInt64], sum: Double, count: UInt64) {
        state.withLock { s in
            var running: UInt64 = 0
            let cumulative = s.buckets.map { running += $0; return running }
            return (cumulative, s.sum, s.count)
        }
    }
}
