import BackendResolver
import CollectorCore
import Dispatch
import ExporterHelper
import OTLPCodec
import Synchronization

/// The load balancer's state and its delivery loop: the ring of the moment (rebuilt when the
/// resolver's answer changes), one `Backend` per endpoint on it, and `deliver`, which routes a
/// request and sends every share, then retries what is left, **re-routing it by the ring of that
/// moment**: a share queued or in retry for a backend that left goes to its new owner instead of
/// being dropped (upstream's #35378), and a share a backend accepted is never sent again, not
/// even when its siblings are retried (upstream's #47600). Sends of one round go out at once,
/// one thread per backend.
///
/// Thread-safe: the ring and the backends are behind a Mutex; deliveries may run concurrently.
final class Balancer: Sendable {
    struct Metrics: Sendable {
        let registry: MetricsRegistry
        let resolver: String
        var backends: Gauge { registry.gauge("otelcol_loadbalancer_num_backends", help: "Current number of backends in use.", labels: [("resolver", resolver)]) }
        var updates: Counter { registry.counter("otelcol_loadbalancer_num_backend_updates", help: "Number of times the list of backends was updated.", labels: [("resolver", resolver)]) }
        func resolutions(success: Bool) -> Counter {
            registry.counter("otelcol_loadbalancer_num_resolutions", help: "Number of times the resolver has triggered new resolutions.",
                             labels: [("resolver", resolver), ("success", "\(success)")])
        }
        func outcome(_ endpoint: String, success: Bool) -> Counter {
            registry.counter("otelcol_loadbalancer_backend_outcome", help: "Number of successes and failures for each endpoint.",
                             labels: [("endpoint", endpoint), ("success", "\(success)")])
        }
        func latency(_ endpoint: String) -> Histogram {
            registry.histogram("otelcol_loadbalancer_backend_latency", help: "Response latency in ms for the backends.",
                               labels: [("endpoint", endpoint)], bounds: [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000])
        }
        /// Items re-routed after their backend left the ring (ours).
        var rerouted: Counter { registry.counter("collectord_loadbalancer_rerouted_items_total", help: "Items sent again by a newer ring after their backend left it.", labels: [("resolver", resolver)]) }
    }

    private struct State {
        var ring = HashRing([])
        var backends: [String: any Backend] = [:]
        var version = 0
    }

    let makeBackend: @Sendable (String) -> any Backend
    let metrics: Metrics
    let clock: any MonotonicClock
    let logger: Logger
    private let state = Mutex(State())

    init(metrics: Metrics, clock: any MonotonicClock, logger: Logger, makeBackend: @escaping @Sendable (String) -> any Backend) {
        self.metrics = metrics
        self.clock = clock
        self.logger = logger
        self.makeBackend = makeBackend
    }

    /// Installs the resolver's answer; rebuilds the ring when it changed. Backends that left
    /// are closed; what they still had in flight is re-routed by `deliver`.
    func update(_ endpoints: [String]) {
        let change: (gone: [any Backend], count: Int)? = state.withLock { s in
            let sorted = Array(Set(endpoints)).sorted()
            guard sorted != s.ring.endpoints else { return nil }
            s.ring = HashRing(sorted)
            s.version += 1
            var gone: [any Backend] = []
            for (endpoint, backend) in s.backends where !sorted.contains(endpoint) {
                gone.append(backend)
                s.backends[endpoint] = nil
            }
            return (gone, sorted.count)
        }
        guard let change else { return }
        metrics.backends.set(change.count)
        metrics.updates.increment()
        logger.info("backends now: \(endpoints.sorted().joined(separator: ", "))")
        for backend in change.gone { backend.close() }
    }

    var ring: HashRing { state.withLock { $0.ring } }

    /// Routes `payload` and delivers every share, retrying (with `retrier`'s waits) what failed
    /// by the ring of the moment, until all is delivered or dropped, or `giveUpAfter` passed.
    func deliver(_ payload: [UInt8], signal: Signal, key: RoutingKey, retrier: Retrier, giveUpAfter: UInt64?) -> Delivery {
        var pending = [payload]
        var dropped: [String] = []
        var lastRing = -1
        var lastFailure = ""
        let outcome = retrier.run(giveUpAfter: giveUpAfter, onRetry: { attempt, delay, why in
            logger.warn("\(why); retry \(attempt) in \(delay / 1_000_000)ms")
        }) { () -> SendAttempt in
            let (ring, version) = state.withLock { ($0.ring, $0.version) }
            if ring.items.isEmpty { return .retry(after: nil, "no backend to send to (the resolver found none yet)") }
            let rerouted = lastRing >= 0 && version != lastRing
            lastRing = version
            var shares: [Router.Share] = []
            for part in pending {
                do throws(OTLPDecodeError) {
                    shares += try Router.split(signal, part, key: key, ring: ring)
                } catch {
                    dropped.append("a request that does not route: \(error)")
                }
            }
            if rerouted { metrics.rerouted.add(shares.reduce(0) { $0 + $1.items }) }
            let results = send(shares, signal: signal)
            pending = []
            var retryAfter: UInt64?
            for (share, result) in zip(shares, results) {
                switch result {
                case .delivered: continue
                case .permanent(let why): dropped.append("\(share.endpoint): \(why)")
                case .retry(let after, let why):
                    pending.append(share.payload)
                    lastFailure = "\(share.endpoint): \(why)"
                    if let after { retryAfter = max(retryAfter ?? 0, after) }
                }
            }
            return pending.isEmpty ? .delivered : .retry(after: retryAfter, "export to \(lastFailure)")
        }
        switch outcome {
        case .delivered where !dropped.isEmpty:
            return .dropped(dropped.joined(separator: "; "))
        default:
            return outcome
        }
    }

    /// One attempt for every share, all at once.
    private func send(_ shares: [Router.Share], signal: Signal) -> [SendAttempt] {
        let backends: [any Backend] = state.withLock { s in
            shares.map { share in
                if let known = s.backends[share.endpoint] { return known }
                let made = makeBackend(share.endpoint)
                s.backends[share.endpoint] = made
                return made
            }
        }
        let results = Mutex<[SendAttempt]>(Array(repeating: .retry(after: nil, "not sent"), count: shares.count))
        // Every share at once; only this thread waits (the answers come on the connections'
        // queues: blocking worker threads here would starve them).
        let group = DispatchGroup()
        for i in shares.indices {
            group.enter()
            let start = clock.now()
            let endpoint = shares[i].endpoint
            backends[i].send(shares[i].payload, signal: signal) { [metrics, clock] result in
                metrics.latency(endpoint).observe(Double(clock.now() - start) / 1e6)
                metrics.outcome(endpoint, success: result == .delivered).increment()
                results.withLock { $0[i] = result }
                group.leave()
            }
        }
        group.wait()
        return results.withLock { $0 }
    }

    /// Closes every backend.
    func close() {
        let all = state.withLock { s -> [any Backend] in
            defer { s.backends = [:] }
            return Array(s.backends.values)
        }
        for backend in all { backend.close() }
    }
}
