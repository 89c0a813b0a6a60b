import CollectorCore
import Synchronization

/// A resolver's answer, refreshed at most every `interval`: the caller asks for `current()`
/// when it needs the set (a query fanning out to its peers) and gets the cached set, or a
/// fresh one when the interval passed. A failed resolution keeps the last good set (and is
/// reported to `onFailure`); before any success the set is empty. Thread-safe: one caller
/// resolves at a time, the others get the cached set meanwhile.
public final class ResolvedEndpoints: Sendable {
    public let resolver: any Resolver
    private let interval: UInt64
    private let clock: any MonotonicClock
    private let onFailure: @Sendable (ResolverError) -> Void
    private struct State {
        var endpoints: [String] = []
        var resolvedAt: UInt64?
        var resolving = false
    }
    private let state = Mutex(State())

    public init(_ resolver: any Resolver, interval: UInt64, clock: any MonotonicClock = SystemClock(),
                onFailure: @escaping @Sendable (ResolverError) -> Void = { _ in }) {
        self.resolver = resolver
        self.interval = interval
        self.clock = clock
        self.onFailure = onFailure
    }

    public func current() -> [String] {
        let now = clock.now()
        let (cached, due) = state.withLock { s -> ([String], Bool) in
            let due = !s.resolving && (s.resolvedAt.map { now &- $0 >= interval } ?? true)
            if due { s.resolving = true }
            return (s.endpoints, due)
        }
        guard due else { return cached }
        let result = resolver.resolve()
        return state.withLock { s in
            s.resolving = false
            switch result {
            case .success(let endpoints):
                s.endpoints = endpoints
                s.resolvedAt = now
            case .failure(let error):
                if s.resolvedAt == nil { s.resolvedAt = now }
                onFailure(error)
            }
            return s.endpoints
        }
    }
}
