import Dispatch
import HTTPClient
import Synchronization

/// Keeps the pods matching `selectors` (a node filter: only this node's pods) current: list,
/// then watch from the list's resourceVersion with bookmarks; a watch the server ended is
/// started again from the last version seen; `410 Gone` lists again (the new list replaces
/// the old set, so a pod deleted while we were away goes); any other failure waits a
/// jittered, capped exponential backoff and watches again. Runs on its own queue until
/// `stop()`; `onChange` is called on that queue after every applied change.
///
/// State: the pods by uid, under a mutex (read by enrichment on pipeline queues).
public final class PodWatcher: Sendable {
    public struct Stats: Sendable, Equatable {
        public var lists = 0
        public var watches = 0
        public var relistsAfterGone = 0
        public var failures = 0
    }

    private let client: KubeAPIClient
    private let selectors: KubeAPIClient.Selectors
    private let pods = Mutex<[String: KubePod]>([:])
    private let counters = Mutex(Stats())
    private let cancellation = HTTPCancellation()
    private let onChange: @Sendable (_ change: Change) -> Void
    private let watchTimeoutSeconds: Int
    private let done = DispatchSemaphore(value: 0)
    private let started = Atomic(false)
    private let lastError = Mutex<String?>(nil)

    public enum Change: Sendable {
        /// The whole set was replaced by a list.
        case synced([KubePod])
        case upserted(KubePod)
        case deleted(KubePod)
    }

    public init(client: KubeAPIClient, selectors: KubeAPIClient.Selectors, watchTimeoutSeconds: Int = 300,
                onChange: @escaping @Sendable (Change) -> Void = { _ in }) {
        self.client = client
        self.selectors = selectors
        self.watchTimeoutSeconds = watchTimeoutSeconds
        self.onChange = onChange
    }

    public func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        DispatchQueue(label: "collectord.k8s.pods").async { [self] in
            run()
            done.signal()
        }
    }

    /// Ends the watch at once and waits for the loop to finish (none when never started).
    public func stop() {
        cancellation.cancel()
        guard started.load(ordering: .acquiring) else { return }
        done.wait()
        done.signal()
    }

    public var snapshot: [String: KubePod] { pods.withLock { $0 } }
    public var stats: Stats { counters.withLock { $0 } }
    public var error: String? { lastError.withLock { $0 } }

    private func run() {
        var version: String?
        var attempt = 0
        while !cancellation.isCancelled {
            do throws(KubeError) {
                if version == nil {
                    let (items, listed) = try client.list("/api/v1/pods", KubePod.self, selectors: selectors)
                    counters.withLock { $0.lists += 1 }
                    pods.withLock { map in
                        map = [:]
                        for pod in items { if let uid = pod.metadata.uid { map[uid] = pod } }
                    }
                    onChange(.synced(items))
                    version = listed
                }
                counters.withLock { $0.watches += 1 }
                try client.watch("/api/v1/pods", KubePod.self, resourceVersion: version ?? "", selectors: selectors,
                                 timeoutSeconds: watchTimeoutSeconds, cancellation: cancellation) { event in
                    switch event {
                    case .added(let pod), .modified(let pod):
                        if let uid = pod.metadata.uid { pods.withLock { $0[uid] = pod } }
                        version = pod.metadata.resourceVersion ?? version
                        onChange(.upserted(pod))
                    case .deleted(let pod):
                        if let uid = pod.metadata.uid { pods.withLock { _ = $0.removeValue(forKey: uid) } }
                        version = pod.metadata.resourceVersion ?? version
                        onChange(.deleted(pod))
                    case .bookmark(let rv):
                        if !rv.isEmpty { version = rv }
                    case .error:
                        break
                    }
                }
                attempt = 0
            } catch {
                if cancellation.isCancelled { return }
                lastError.withLock { $0 = error.description }
                if case .gone = error {
                    counters.withLock { $0.relistsAfterGone += 1 }
                    version = nil
                    continue
                }
                counters.withLock { $0.failures += 1 }
                // Full jitter over an exponential cap: 0.2 s, 0.4 s ... 30 s.
                let cap = min(30_000, 200 << min(attempt, 8))
                attempt += 1
                if cancellation.wait(millis: Int.random(in: cap / 2...cap)) { return }
            }
        }
    }
}
