import AttributeActions
import Buffers
import CollectorCore
import FoundationEssentials
import KubernetesClient
import OTLPCodec
import Patterns
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The `k8sattributes` processor: adds the Kubernetes metadata of the pod each resource came
/// from, as the OpenTelemetry Collector's does.
///
/// Design: a watcher thread keeps the pods the `filter` selects (normally this node's: the
/// node name is sent as a field selector, so memory holds one node's pods however large the
/// cluster) in a `PodTable` of records prepared when a pod changes; enrichment on the pipeline
/// queue only looks a resource up and inserts prepared attributes into its `Resource` on the
/// wire (`ResourceRewrite`), never overwriting what the source set. A resource is matched by
/// the `pod_association` rules in order (default: upstream's chain, `defaultRules`), then, for logs tailed
/// from `/var/log/pods/<ns>_<pod>_<uid>/<container>/`, by the uid and container in the path.
/// Namespaces are watched only when namespace labels/annotations or `k8s.cluster.uid` (the
/// `kube-system` namespace's uid) are asked for. `passthrough` watches nothing and only adds
/// `k8s.pod.ip` from the connection. State: the table under a mutex shared with the watcher.
public final class K8sAttributesProcessor: Processor {
    let settings: K8sAttributesSettings
    let state: State
    private let logger: Logger
    private let metrics: MetricsRegistry
    private let environment: [String: String]
    private let clientFactory: @Sendable (KubeConnection) throws(KubeError) -> KubeAPIClient
    private var podWatcher: PodWatcher?
    private var namespaceWatcher: NamespaceWatcher?
    /// Scrape-time callbacks registered at start, removed at shutdown (name, labels, id).
    private var callbacks: [(String, MetricsRegistry.Labels, UInt64)] = []
    private let rules: [[K8sAttributesSettings.AssociationSource]]
    /// Each rule's source attribute names as bytes (looked up per resource, made once).
    private let ruleKeys: [[[UInt8]]]
    private let ipLookupMiss: Counter
    /// Payloads of replaced batches, written into by the next rewrites (pipeline queue only).
    private var spare = SpareBuffers()

    /// What the watcher threads and the pipeline share. `@unchecked Sendable` is not needed:
    /// every mutable part is behind the mutex, the rest is immutable.
    final class State: Sendable {
        let table: Mutex<PodTable>
        let metadata: PodMetadata
        let excluded: [Pattern]
        let clock: any MonotonicClock
        let clusterUID = Mutex<String?>(nil)
        let podAdded, podUpdated, podDeleted, namespaceAdded, namespaceUpdated, namespaceDeleted: Counter

        init(settings: K8sAttributesSettings, metrics: MetricsRegistry, clock: any MonotonicClock) {
            table = Mutex(PodTable(grace: settings.deleteGraceNanos))
            metadata = PodMetadata(settings)
            excluded = settings.excludePods.compactMap { try? Pattern($0) }
            self.clock = clock
            func counter(_ what: String, _ help: String) -> Counter {
                metrics.counter("otelcol_otelsvc_k8s_\(what)_total", help: help)
            }
            podAdded = counter("pod_added", "Number of pod add events received")
            podUpdated = counter("pod_updated", "Number of pod update events received")
            podDeleted = counter("pod_deleted", "Number of pod delete events received")
            namespaceAdded = counter("namespace_added", "Number of namespace add events received")
            namespaceUpdated = counter("namespace_updated", "Number of namespace update events received")
            namespaceDeleted = counter("namespace_deleted", "Number of namespace delete events received")
        }

        /// `exclude.pods`, and pods annotated `opentelemetry.io/k8s-processor/ignore: "true"`.
        func isExcluded(_ pod: KubePod) -> Bool {
            guard let name = pod.metadata.name else { return true }
            if let ignore = pod.metadata.annotations?["opentelemetry.io/k8s-processor/ignore"],
               ignore.trimmingWhitespace.lowercased() == "true" { return true }
            return excluded.contains { $0.matches(name) }
        }

        func apply(_ change: PodWatcher.Change) {
            let now = clock.now()
            switch change {
            case .synced(let pods):
                let records = pods.filter { !isExcluded($0) }.compactMap(metadata.record)
                let counts = table.withLock { t in
                    t.expire(now: now)
                    return t.replaceAll(records, now: now)
                }
                podAdded.add(counts.added)
                podUpdated.add(counts.updated)
                podDeleted.add(counts.deleted)
            case .upserted(let pod):
                guard !isExcluded(pod), let record = metadata.record(pod) else { return }
                let added = table.withLock { t in
                    t.expire(now: now)
                    return t.upsert(record)
                }
                (added ? podAdded : podUpdated).add(1)
            case .deleted(let pod):
                guard let uid = pod.metadata.uid else { return }
                if table.withLock({ $0.delete(uid: uid, now: now) }) { podDeleted.add(1) }
            }
        }

        func apply(_ change: NamespaceWatcher.Change) {
            func put(_ ns: KubeNamespace, into t: inout PodTable) {
                guard let name = ns.metadata.name, let record = metadata.record(ns) else { return }
                t.namespaces[name] = record
                if name == "kube-system" { clusterUID.withLock { $0 = record.uid } }
            }
            switch change {
            case .synced(let all):
                table.withLock { t in
                    t.namespaces = [:]
                    for ns in all { put(ns, into: &t) }
                }
                namespaceAdded.add(all.count)
            case .upserted(let ns):
                let known = table.withLock { t in
                    let known = ns.metadata.name.map { t.namespaces[$0] != nil } ?? false
                    put(ns, into: &t)
                    return known
                }
                (known ? namespaceUpdated : namespaceAdded).add(1)
            case .deleted(let ns):
                if let name = ns.metadata.name { table.withLock { t in t.namespaces[name] = nil } }
                namespaceDeleted.add(1)
            }
        }
    }

    public convenience init(settings: K8sAttributesSettings, metrics: MetricsRegistry, logger: Logger) throws {
        try self.init(settings: settings, metrics: metrics, logger: logger, clock: SystemClock(),
                      environment: ProcessInfo.processInfo.environment)
    }

    /// `clock` must be the pipeline's (deletion deadlines are compared with `process`'s `now`).
    init(settings: K8sAttributesSettings, metrics: MetricsRegistry, logger: Logger, clock: any MonotonicClock,
         environment: [String: String],
         clientFactory: @escaping @Sendable (KubeConnection) throws(KubeError) -> KubeAPIClient = { c throws(KubeError) in try KubeAPIClient(c) }) throws {
        self.settings = settings
        self.logger = logger
        self.metrics = metrics
        self.environment = environment
        self.clientFactory = clientFactory
        state = State(settings: settings, metrics: metrics, clock: clock)
        rules = settings.associations.isEmpty ? Self.defaultRules : settings.associations
        ruleKeys = rules.map { $0.map { Array($0.name.utf8) } }
        ipLookupMiss = metrics.counter("otelcol_otelsvc_k8s_ip_lookup_miss_total",
                                       help: "Number of times pod by IP lookup failed")
    }

    // MARK: lifecycle

    public func start() throws {
        guard !settings.passthrough else { return }
        let selectors = try selectors()
        let client = try client()
        let path = settings.filter.namespace.isEmpty ? KubePod.collectionPath : "/api/v1/namespaces/\(settings.filter.namespace)/pods"
        let state = self.state
        let logger = self.logger
        let pods = PodWatcher(client: client, path: path, selectors: selectors, keepsObjects: false,
                              onChange: { change in state.apply(change) })
        podWatcher = pods
        var watching: [() -> Bool] = [{ pods.hasSynced }]
        if state.metadata.needsNamespaces {
            // Only the cluster uid: watch kube-system alone, as upstream does.
            let only = state.metadata.needsNamespaceTags ? KubeAPIClient.Selectors() : .init(field: "metadata.name=kube-system")
            let namespaces = NamespaceWatcher(client: client, selectors: only, keepsObjects: false,
                                              onChange: { change in state.apply(change) })
            namespaceWatcher = namespaces
            watching.append { namespaces.hasSynced }
        }
        callbacks.append(("otelcol_otelsvc_k8s_pod_table_size", [], metrics.callback(
            "otelcol_otelsvc_k8s_pod_table_size", help: "Size of table containing pod info") {
            Double(state.table.withLock { $0.count })
        }))
        registerWatchMetrics(pods, resource: "pods")
        if let namespaceWatcher { registerWatchMetrics(namespaceWatcher, resource: "namespaces") }
        pods.start()
        namespaceWatcher?.start()
        logger.info("k8sattributes: watching \(path)\(selectors.field.map { " fieldSelector=\($0)" } ?? "")\(selectors.label.map { " labelSelector=\($0)" } ?? "")")
        guard settings.waitForMetadata else { return }
        let deadline = state.clock.now() + settings.waitForMetadataTimeoutNanos
        while !watching.allSatisfy({ $0() }) {
            if state.clock.now() >= deadline {
                let reason = pods.error.map { ": \($0)" } ?? ""
                shutdown()
                throw ComponentError.permanent("k8sattributes: wait_for_metadata: no pod list within \(settings.waitForMetadataTimeoutNanos / 1_000_000) ms\(reason)")
            }
            usleep(10_000)
        }
    }

    public func shutdown() {
        podWatcher?.stop()
        namespaceWatcher?.stop()
        podWatcher = nil
        namespaceWatcher = nil
        for (name, labels, id) in callbacks { metrics.removeCallback(name, labels: labels, id: id) }
        callbacks = []
    }

    private func registerWatchMetrics<O: KubeWatchable>(_ watcher: KubeWatcher<O>, resource: String) {
        let labels = [("resource", resource)]
        func register(_ name: String, _ help: String, _ value: @escaping @Sendable (KubeWatcher<O>.Stats) -> Int) {
            callbacks.append((name, labels, metrics.callback(name, kind: .counter, help: help, labels: labels) {
                Double(value(watcher.stats))
            }))
        }
        register("collectord_k8s_watch_lists_total", "Lists of a watched resource (the first, and each relist)") { $0.lists }
        register("collectord_k8s_watch_relists_after_gone_total", "Relists after 410 Gone") { $0.relistsAfterGone }
        register("collectord_k8s_watch_failures_total", "Lists or watches that failed (retried with backoff)") { $0.failures }
    }

    /// The server-side selectors of `filter`.
    func selectors() throws(ComponentError) -> KubeAPIClient.Selectors {
        var fields: [String] = []
        var node = settings.filter.node
        if !settings.filter.nodeFromEnvVar.isEmpty {
            node = environment[settings.filter.nodeFromEnvVar] ?? ""
            if node.isEmpty {
                // Upstream would watch every pod of the cluster here: the memory blow-up this avoids.
                throw .permanent("k8sattributes: filter.node_from_env_var: \(settings.filter.nodeFromEnvVar) is not set; refusing to watch every pod of the cluster")
            }
        }
        if !node.isEmpty { fields.append("spec.nodeName=\(node)") }
        for term in settings.filter.fields {
            fields.append(term.op == .notEquals ? "\(term.key)!=\(term.value)" : "\(term.key)=\(term.value)")
        }
        let labels = settings.filter.labels.map { term in
            switch term.op {
            case .equals: "\(term.key)=\(term.value)"
            case .notEquals: "\(term.key)!=\(term.value)"
            case .exists: term.key
            case .doesNotExist: "!\(term.key)"
            }
        }
        return .init(field: fields.isEmpty ? nil : fields.joined(separator: ","),
                     label: labels.isEmpty ? nil : labels.joined(separator: ","))
    }

    private func client() throws(ComponentError) -> KubeAPIClient {
        do throws(KubeError) {
            let connection: KubeConnection
            switch settings.authType {
            case .serviceAccount:
                connection = try KubeConnection.inCluster(environment: environment)
            case .kubeConfig:
                connection = try KubeConnection.kubeconfig(path: settings.kubeConfigPath.isEmpty ? nil : settings.kubeConfigPath,
                                                           context: settings.context.isEmpty ? nil : settings.context,
                                                           environment: environment)
            case .none:
                connection = try KubeConnection.anonymous(environment: environment)
            }
            return try clientFactory(connection)
        } catch {
            throw .permanent("k8sattributes: \(error)")
        }
    }

    // MARK: enrichment

    public var nextDeadline: UInt64? { nil }
    public func timerFired(now: UInt64, emit: (TelemetryBatch) -> Void) {}
    public func flush(emit: (TelemetryBatch) -> Void) {}

    public func process(_ batch: TelemetryBatch, now: UInt64, emit: (TelemetryBatch) -> Void) {
        if !settings.passthrough { state.table.withLock { $0.expire(now: now) } }
        let contexts = Self.contexts(batch.origins)
        WireRewrite.process(batch, logger: logger, what: "k8sattributes", spare: &spare, emit: emit) { raw, out in
            try ResourceRewrite.rewrite(raw, into: &out) { list, index in
                enrich(&list, context: index < contexts.count ? contexts[index] : nil)
            }
        }
    }

    private static func contexts(_ origins: [BatchOrigin]) -> [RequestContext] {
        var out: [RequestContext] = []
        for run in origins { out += repeatElement(run.context, count: run.resources) }
        return out
    }

    /// Upstream's association without `pod_association`: the `k8s.pod.ip` attribute, then
    /// `ip`, then the connection, then `host.name` when it holds an address.
    static let defaultRules: [[K8sAttributesSettings.AssociationSource]] = [
        [.init(from: .resourceAttribute, name: "k8s.pod.ip")], [.init(from: .resourceAttribute, name: "ip")],
        [.init(from: .connection, name: "")], [.init(from: .resourceAttribute, name: "host.name")],
    ]

    private static let podIPKey = Array("k8s.pod.ip".utf8)
    private static let containerNameKey = Array("k8s.container.name".utf8)
    private static let containerIDKey = Array("container.id".utf8)
    private static let namespaceKey = Array("k8s.namespace.name".utf8)
    private static let clusterUIDKey = Array("k8s.cluster.uid".utf8)

    /// Adds the matched pod's attributes to one resource's.
    func enrich(_ list: inout AttributeList, context: RequestContext?) {
        let connectionIP = context?.peerIP.map(Self.unmapped)
        if settings.passthrough {
            if let ip = connectionIP { list.insert(Self.podIPKey, AttributeEditor.encode(.string(ip))) }
            return
        }
        guard let (pod, container, namespace, cluster, viaConnection) = match(list, context: context, connectionIP: connectionIP) else { return }
        if viaConnection, let ip = connectionIP { list.insert(Self.podIPKey, AttributeEditor.encode(.string(ip))) }
        for a in pod.attributes { list.insert(a.key, a.value) }
        if let container, let attrs = pod.containers[container] { for a in attrs { list.insert(a.key, a.value) } }
        for a in namespace?.attributes ?? [] { list.insert(a.key, a.value) }
        if let cluster { list.insert(Self.clusterUIDKey, AttributeEditor.encode(.string(cluster))) }
    }

    /// The pod of a resource, its container when known, and whether the connection found it.
    private func match(_ list: AttributeList, context: RequestContext?, connectionIP: String?)
        -> (PodRecord, String?, NamespaceRecord?, String?, Bool)? {
        let path = context?.filePath.flatMap(KubeletLogPath.init).flatMap { $0.uid.isEmpty ? nil : $0 }
        return state.table.withLock { table -> (PodRecord, String?, NamespaceRecord?, String?, Bool)? in
            // The first rule whose sources all have values decides, found or not (upstream:
            // a miss there does not fall through to, say, a forwarder's connection).
            var found: PodRecord?
            var decided = false
            var viaConnection = false
            for (rule, keys) in zip(rules, ruleKeys) {
                guard let outcome = resolve(rule, keys, list, connectionIP, table) else { continue }
                decided = true
                found = outcome
                viaConnection = rule.contains { $0.from == .connection }
                break
            }
            if !decided, let path { found = table.pod(uid: path.uid) }
            guard let pod = found else { return nil }
            var container = list.string(of: Self.containerNameKey)
            if container == nil, let id = list.string(of: Self.containerIDKey) { container = pod.containerIDs[id] }
            if container == nil, let path, path.uid == pod.uid { container = path.container }
            // A pod with one container: it is that one (upstream does the same).
            if container == nil, pod.containers.count == 1 { container = pod.containers.keys.first }
            let cluster = settings.metadata.contains("k8s.cluster.uid") ? state.clusterUID.withLock { $0 } : nil
            return (pod, container, table.namespaces[pod.namespace], cluster, viaConnection)
        }
    }

    /// The pod a rule names: nil when a source has no value (the rule does not apply), else the
    /// pod all its sources name (nil inside: none, or not the same one).
    private func resolve(_ rule: [K8sAttributesSettings.AssociationSource], _ keys: [[UInt8]], _ list: AttributeList,
                         _ connectionIP: String?,
                         _ table: PodTable) -> PodRecord?? {
        var values: [(K8sAttributesSettings.AssociationSource, String)] = []
        for (source, key) in zip(rule, keys) {
            if source.from == .connection {
                guard let ip = connectionIP else { return nil }
                values.append((source, ip))
            } else {
                guard let value = list.string(of: key), !value.isEmpty else { return nil }
                values.append((source, value))
            }
        }
        var pod: PodRecord?
        var namespace: String?
        var name: String?
        for (source, value) in values {
            let candidate: PodRecord?
            switch source.from == .connection ? "" : source.name {
            case "k8s.pod.uid": candidate = table.pod(uid: value)
            case "container.id": candidate = table.pod(containerID: value)
            case "k8s.namespace.name": namespace = value; continue
            case "k8s.pod.name": name = value; continue
            default:
                // The connection, k8s.pod.ip, ip, host.name and the like carry an address.
                candidate = table.pod(ip: Self.unmapped(value))
                if candidate == nil { ipLookupMiss.add(1) }
            }
            guard let candidate, pod == nil || pod === candidate else { return .some(nil) }
            pod = candidate
        }
        if let name {
            guard let byName = table.pod(namespace: namespace ?? list.string(of: Self.namespaceKey) ?? "", name: name),
                  pod == nil || pod === byName else { return .some(nil) }
            pod = byName
        }
        if let namespace, pod?.namespace != namespace { return .some(nil) }
        return .some(pod)
    }

    /// `::ffff:10.1.2.3` (an IPv4 client on a dual-stack socket) as `10.1.2.3`.
    static func unmapped(_ ip: String) -> String {
        ip.hasPrefix("::ffff:") && ip.contains(".") ? String(ip.dropFirst(7)) : ip
    }
}
