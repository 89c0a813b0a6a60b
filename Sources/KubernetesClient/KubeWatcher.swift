import Dispatch
import HTTPClient
import Synchronization

/// An object kind that can be listed and watched: pods, namespaces, EndpointSlices.
public protocol KubeWatchable: Decodable, Sendable {
    var metadata: KubeObjectMeta { get }
    /// The cluster-wide collection, e.g. `/api/v1/pods`.
    static var collectionPath: String { get }
}

extension KubePod: KubeWatchable {
    public static var collectionPath: String { "/api/v1/pods" }
}

extension KubeNamespace: KubeWatchable {
    public static var collectionPath: String { "/api/v1/namespaces" }
}

public typealias PodWatcher = KubeWatcher<KubePod>
public typealias NamespaceWatcher = KubeWatcher<KubeNamespace>

/// Keeps the objects at `path` matching `selectors` (a node filter: only this node's pods) current: list,
/// then watch from the list's resourceVersion with bookmarks; a watch the server ended is
/// started again from the last version seen; `410 Gone` lists again (the new list replaces
/// the old set, so a pod deleted while we were away goes); any other failure waits a
/// jittered, capped exponential backoff and watches again. Runs on its own queue until
/// `stop()`; `onChange` is called on that queue after every applied change, `onFailure` after
/// every failed list or watch (a cut stream, a 410, an error answer), before the backoff.
///
/// State: the objects by uid, under a mutex (read by enrichment on pipeline queues).
public final class KubeWatcher<Object: KubeWatchable>: Sendable {
    public struct Stats: Sendable, Equatable {
        public var lists = 0
        public var watches = 0
        public var relistsAfterGone = 0
        public var failures = 0
    }

    private let client: KubeAPIClient
    private let selectors: KubeAPIClient.Selectors
    private let path: String
    private let objects = Mutex<[String: Object]>([:])
    private let counters = Mutex(Stats())
    private let cancellation = HTTPCancellation()
    private let onChange: @Sendable (_ change: Change) -> Void
    private let onFailure: @Sendable (KubeError) -> Void
    private let watchTimeoutSeconds: Int
    private let done = DispatchSemaphore(value: 0)
    private let started = Atomic(false)
    private let lastError = Mutex<String?>(nil)
    private let backoffMillis: @Sendable (Int) -> Int
    /// Whether `snapshot` is kept (a user that keeps its own table from `onChange` says no).
    private let keepsObjects: Bool
    private let synced = Atomic(false)

    public enum Change: Sendable {
        /// The whole set was replaced by a list.
        case synced([Object])
        case upserted(Object)
        case deleted(Object)
    }

    /// `path`: the collection (default: cluster-wide; `/api/v1/namespaces/<ns>/pods` for one
    /// namespace). `backoffMillis`: the wait after the `attempt`-th failure in a row (tests
    /// pass a fixed one); the default is full jitter over 0.2 s, 0.4 s ... 30 s.
    public init(client: KubeAPIClient, path: String = Object.collectionPath, selectors: KubeAPIClient.Selectors = .init(),
                watchTimeoutSeconds: Int = 300, keepsObjects: Bool = true,
                backoffMillis: @escaping @Sendable (_ attempt: Int) -> Int = KubeWatcher.jitteredBackoff,
                onFailure: @escaping @Sendable (KubeError) -> Void = { _ in },
                onChange: @escaping @Sendable (Change) -> Void = { _ in }) {
        self.client = client
        self.onFailure = onFailure
        self.path = path
        self.keepsObjects = keepsObjects
        self.backoffMillis = backoffMillis
        self.selectors = selectors
        self.watchTimeoutSeconds = watchTimeoutSeconds
        self.onChange = onChange
    }

    public func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        DispatchQueue(label: "collectord.k8s.watch").async { [self] in
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

    public var snapshot: [String: Object] { objects.withLock { $0 } }
    /// Whether a first list has been applied.
    public var hasSynced: Bool { synced.load(ordering: .acquiring) }

    /// Full jitter over an exponential cap: 0.2 s, 0.4 s ... 30 s.
    public static func jitteredBackoff(_ attempt: Int) -> Int {
        let cap = min(30_000, 200 << min(attempt, 8))
        return Int.random(in: cap / 2...cap)
    }
    public var stats: Stats { counters.withLock { $0 } }
    public var error: String? { lastError.withLock { $0 } }

    private func run() {
        var version: String?
        var attempt = 0
        var goneInARow = 0
        while !cancellation.isCancelled {
            do throws(KubeError) {
                if version == nil {
                    let (items, listed) = try client.list(path, Object.self, selectors: selectors, cancellation: cancellation)
                    counters.withLock { $0.lists += 1 }
                    if keepsObjects {
                        objects.withLock { map in
                            map = [:]
                            for object in items { if let uid = object.metadata.uid { map[uid] = object } }
                        }
                    }
                    onChange(.synced(items))
                    synced.store(true, ordering: .releasing)
                    version = listed
                }
                counters.withLock { $0.watches += 1 }
                try client.watch(path, Object.self, resourceVersion: version ?? "", selectors: selectors,
                                 timeoutSeconds: watchTimeoutSeconds, cancellation: cancellation) { event in
                    switch event {
                    case .added(let object), .modified(let object):
                        if keepsObjects, let uid = object.metadata.uid { objects.withLock { $0[uid] = object } }
                        version = object.metadata.resourceVersion ?? version
                        onChange(.upserted(object))
                    case .deleted(let object):
                        if keepsObjects, let uid = object.metadata.uid { objects.withLock { _ = $0.removeValue(forKey: uid) } }
                        version = object.metadata.resourceVersion ?? version
                        onChange(.deleted(object))
                    case .bookmark(let rv):
                        if !rv.isEmpty { version = rv }
                    case .error:
                        break
                    }
                }
                attempt = 0
                goneInARow = 0
            } catch {
                if cancellation.isCancelled { return }
                lastError.withLock { $0 = error.description }
                onFailure(error)
                if case .gone = error {
                    counters.withLock { $0.relistsAfterGone += 1 }
                    version = nil
                    // A first 410 lists again at once; 410s in a row (a server whose watch
                    // cache lags its lists) back off as failures do, not a list loop.
                    goneInARow += 1
                    if goneInARow == 1 { continue }
                } else {
                    goneInARow = 0
                    counters.withLock { $0.failures += 1 }
                }
                let wait = backoffMillis(attempt)
                attempt += 1
                if cancellation.wait(millis: wait) { return }
            }
        }
    }
}
