#if canImport(Glibc)
import Glibc
#endif
import CollectorCore
import Dispatch
import KubernetesClient
import Synchronization

/// The backends of a Kubernetes Service (`resolver.k8s`): its EndpointSlices, watched.
///
/// Design: a `KubeWatcher` lists the Service's slices (label selector
/// `kubernetes.io/service-name=<service>` in its namespace) and watches them with bookmarks on
/// its own queue; each list or event is applied to an `EndpointSliceTable` (every slice by name,
/// merged into one sorted list of ready, non-terminating endpoints) under a mutex. So
/// `resolve()` never blocks: it answers the current list from memory. When the list changes,
/// `version` goes up and `onChange` is called (on the watcher's queue, outside the lock) with
/// the new list, so an owner can rebuild its ring at once instead of at its next interval.
///
/// Failures keep the last list: a cut watch resumes from the last resourceVersion, a 410 lists
/// again (the new list replaces the table, so a pod that left meanwhile goes), an error answer
/// or an unreachable API server backs off (full jitter up to 30 s) and retries. Each failure is
/// logged and counted (`stats`). Before the first list `resolve()` fails (the owner keeps
/// whatever it had, normally nothing); after it, an empty list is an answer (the Service has no
/// ready endpoint), not an error.
///
/// Lifecycle: `start()` returns at once (`waitForSync` waits for the first list); `stop()`
/// ends the watch and waits for its loop, is idempotent and safe without `start()`.
public final class K8sResolver: Resolver {
    public struct Stats: Sendable, Equatable {
        /// Lists and watch events applied (upstream's `loadbalancer_num_resolutions{success=true}`).
        public var resolutions = 0
        /// Failed lists and watches, each retried (`{success=false}`).
        public var failures = 0
        public var lists = 0
        public var relistsAfterGone = 0
        /// Times the endpoint list changed (upstream's `loadbalancer_num_backend_updates`).
        public var changes = 0
    }

    public let settings: K8sResolverSettings
    public let namespace: String
    public var kind: String { "k8s" }
    private let watcher: EndpointSliceWatcher
    private let shared: Shared

    /// What the watcher's queue and the callers share; every mutable part is behind the mutex.
    private final class Shared: Sendable {
        struct State {
            var table: EndpointSliceTable
            var endpoints: [String] = []
            var synced = false
            var version: UInt64 = 0
            var resolutions = 0
            var failures = 0
            var changes = 0
        }
        let state: Mutex<State>
        let firstList = DispatchSemaphore(value: 0)
        let onChange: @Sendable ([String]) -> Void
        let logger: Logger
        let name: String

        init(table: EndpointSliceTable, logger: Logger, onChange: @escaping @Sendable ([String]) -> Void) {
            state = Mutex(State(table: table))
            name = "\(table.service).\(table.namespace)"
            self.logger = logger
            self.onChange = onChange
        }

        func apply(_ change: EndpointSliceWatcher.Change) {
            let (changed, first, before) = state.withLock { s -> ([String]?, Bool, [String]) in
                s.table.apply(change)
                s.resolutions += 1
                let before = s.endpoints
                let now = s.table.endpoints
                var first = false
                if case .synced = change, !s.synced {
                    s.synced = true
                    first = true
                }
                guard now != before || first else { return (nil, false, before) }
                s.endpoints = now
                s.version += 1
                if now != before { s.changes += 1 }
                return (now, first, before)
            }
            if let changed {
                let added = Set(changed).subtracting(before).count
                let removed = Set(before).subtracting(changed).count
                logger.info("k8s resolver \(name): \(changed.count) endpoints (+\(added) -\(removed))")
                onChange(changed)
            }
            if first { firstList.signal() }  // after onChange: a waiter's owner has the first list
        }

        func failed(_ error: KubeError) {
            let count = state.withLock { s -> Int in
                s.failures += 1
                return s.endpoints.count
            }
            if case .gone = error {
                logger.info("k8s resolver \(name): \(error); listing again (keeping the \(count) endpoints found meanwhile)")
            } else {
                logger.warn("k8s resolver \(name): \(error); retrying (keeping the \(count) endpoints found)")
            }
        }
    }

    /// - Parameters:
    ///   - namespace: where the Service is (`settings.namespace(environment:)`).
    ///   - client: the Kubernetes API; its timeout should be `settings.timeoutNanos`.
    ///   - backoffMillis: the wait after the `attempt`-th failure in a row (tests pass a short one).
    ///   - onChange: called with the new list each time it changes, and once after the first
    ///     list (even an empty one), on the watcher's queue.
    public init(settings: K8sResolverSettings, namespace: String, client: KubeAPIClient, logger: Logger,
                watchTimeoutSeconds: Int = 300,
                backoffMillis: @escaping @Sendable (_ attempt: Int) -> Int = EndpointSliceWatcher.jitteredBackoff,
                onChange: @escaping @Sendable ([String]) -> Void = { _ in }) {
        self.settings = settings
        self.namespace = namespace
        let table = EndpointSliceTable(service: settings.service, namespace: namespace, ports: settings.ports,
                                       returnHostnames: settings.returnHostnames)
        let shared = Shared(table: table, logger: logger, onChange: onChange)
        self.shared = shared
        watcher = EndpointSliceWatcher(client: client, service: settings.service, namespace: namespace,
                                       watchTimeoutSeconds: watchTimeoutSeconds, keepsObjects: false,
                                       backoffMillis: backoffMillis,
                                       onFailure: { shared.failed($0) }, onChange: { shared.apply($0) })
    }

    /// In a pod: the connection `KubeConnection.automatic` finds (KUBECONFIG, else the service
    /// account), the client's timeout from the settings, the namespace from the settings or
    /// the pod's own.
    public convenience init(settings: K8sResolverSettings, environment: [String: String], logger: Logger,
                            onChange: @escaping @Sendable ([String]) -> Void = { _ in }) throws(ResolverError) {
        let namespace = try settings.namespace(environment: environment)
        let client: KubeAPIClient
        do throws(KubeError) {
            client = try KubeAPIClient(try KubeConnection.automatic(environment: environment), timeoutNanos: settings.timeoutNanos)
        } catch {
            throw ResolverError("k8s resolver \(settings.service).\(namespace): \(error)")
        }
        self.init(settings: settings, namespace: namespace, client: client, logger: logger, onChange: onChange)
    }

    /// The variables the Kubernetes client and the namespace lookup read, from this process's
    /// environment (in-cluster or KUBECONFIG, the pod's namespace).
    public static func processEnvironment() -> [String: String] {
        var out: [String: String] = [:]
        for key in ["KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "POD_NAMESPACE", "K8S_NAMESPACE", "HOME"] {
            if let value = getenv(key) { out[key] = String(cString: value) }
        }
        return out
    }

    public func start() { watcher.start() }

    public func stop() { watcher.stop() }

    /// The current endpoints, from memory; a failure only before the first list.
    public func resolve() -> Result<[String], ResolverError> {
        let (synced, endpoints) = shared.state.withLock { ($0.synced, $0.endpoints) }
        guard synced else {
            let reason = watcher.error.map { ": \($0)" } ?? ""
            return .failure(ResolverError("k8s resolver \(shared.name): the Service's EndpointSlices are not listed yet\(reason)"))
        }
        return .success(endpoints)
    }

    /// The current endpoints (empty before the first list).
    public var endpoints: [String] { shared.state.withLock { $0.endpoints } }

    /// Goes up by one each time `endpoints` changes (and at the first list): an owner that
    /// polls compares it with the version its ring was built from.
    public var version: UInt64 { shared.state.withLock { $0.version } }

    public var hasSynced: Bool { shared.state.withLock { $0.synced } }

    /// Waits up to `timeoutNanos` for the first list; true once it was applied.
    public func waitForSync(timeoutNanos: UInt64) -> Bool {
        if hasSynced { return true }
        guard shared.firstList.wait(timeout: .now() + .nanoseconds(Int(min(timeoutNanos, UInt64(Int.max))))) == .success else {
            return hasSynced
        }
        shared.firstList.signal()  // for the next waiter
        return true
    }

    public var stats: Stats {
        let watch = watcher.stats
        return shared.state.withLock { s in
            Stats(resolutions: s.resolutions, failures: s.failures, lists: watch.lists,
                  relistsAfterGone: watch.relistsAfterGone, changes: s.changes)
        }
    }
}
