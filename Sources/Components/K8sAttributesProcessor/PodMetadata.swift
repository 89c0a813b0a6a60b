import AttributeActions
import KubernetesClient
import Patterns

/// An attribute ready to be written: its key and its serialized string `AnyValue`.
struct PreparedAttribute: Sendable, Equatable {
    let key: [UInt8]
    let value: [UInt8]

    init(_ key: String, _ value: String) {
        self.key = Array(key.utf8)
        self.value = AttributeEditor.encode(.string(value))
    }

    var name: String { String(decoding: key, as: UTF8.self) }
}

/// What enrichment adds for one pod, computed once when the pod is seen (not per request):
/// its own attributes, and per container those that need the container to be known.
final class PodRecord: Sendable {
    let uid: String
    let namespace: String
    let name: String
    /// The pod's IPs, none for a host-network pod (its IP is the node's and says nothing) or a
    /// finished one.
    let ips: [String]
    let created: String
    let attributes: [PreparedAttribute]
    /// By container name.
    let containers: [String: [PreparedAttribute]]
    /// Container id (without the `containerd://` scheme) to container name.
    let containerIDs: [String: String]

    init(uid: String, namespace: String, name: String, ips: [String], created: String,
         attributes: [PreparedAttribute], containers: [String: [PreparedAttribute]], containerIDs: [String: String]) {
        self.uid = uid
        self.namespace = namespace
        self.name = name
        self.ips = ips
        self.created = created
        self.attributes = attributes
        self.containers = containers
        self.containerIDs = containerIDs
    }
}

/// A namespace's contribution: labels and annotations asked for `from: namespace`.
struct NamespaceRecord: Sendable {
    let uid: String
    let attributes: [PreparedAttribute]
}

/// Turns pods and namespaces into records, as `extract` asks: the metadata fields (names of
/// the owning workloads come from owner references and `pod-template-hash`, not from watching
/// ReplicaSets or Jobs), labels and annotations by key or regex, `resource.opentelemetry.io/*`
/// annotations, and the `service.*` attributes in the order OpenTelemetry's semantic
/// conventions give for Kubernetes.
struct PodMetadata: Sendable {
    private struct CompiledRule: Sendable {
        let rule: K8sAttributesSettings.TagRule
        let pattern: Pattern?
        let annotation: Bool
    }

    private let fields: Set<String>
    private let rules: [CompiledRule]
    private let otelAnnotations: Bool

    init(_ settings: K8sAttributesSettings) {
        fields = Set(settings.metadata)
        otelAnnotations = settings.otelAnnotations
        rules = settings.labels.map { CompiledRule(rule: $0, pattern: Self.compile($0), annotation: false) }
            + settings.annotations.map { CompiledRule(rule: $0, pattern: Self.compile($0), annotation: true) }
    }

    private static func compile(_ rule: K8sAttributesSettings.TagRule) -> Pattern? {
        rule.keyRegex.isEmpty ? nil : try? Pattern(rule.keyRegex)
    }

    var needsNamespaces: Bool { fields.contains("k8s.cluster.uid") || needsNamespaceTags }
    /// Whether namespace labels or annotations are asked for (else only kube-system's uid is).
    var needsNamespaceTags: Bool { rules.contains { $0.rule.from == .namespace } }

    func record(_ pod: KubePod) -> PodRecord? {
        let meta = pod.metadata
        guard let uid = meta.uid, let name = meta.name else { return nil }
        let namespace = meta.namespace ?? ""
        let labels = meta.labels ?? [:]
        let annotations = meta.annotations ?? [:]
        var owners: [String: String] = [:]
        for owner in meta.ownerReferences ?? [] {
            switch owner.kind {
            case "ReplicaSet":
                owners["k8s.replicaset.name"] = owner.name
                owners["k8s.replicaset.uid"] = owner.uid
                owners["k8s.deployment.name"] = Self.deployment(owner.name, hash: labels["pod-template-hash"])
            case "DaemonSet":
                owners["k8s.daemonset.name"] = owner.name
                owners["k8s.daemonset.uid"] = owner.uid
            case "StatefulSet":
                owners["k8s.statefulset.name"] = owner.name
                owners["k8s.statefulset.uid"] = owner.uid
            case "Job":
                owners["k8s.job.name"] = owner.name
                owners["k8s.job.uid"] = owner.uid
                if let cron = Self.cronJob(owner.name) { owners["k8s.cronjob.name"] = cron }
            default: break
            }
        }
        var attrs: [PreparedAttribute] = []
        func add(_ key: String, _ value: String?) {
            if fields.contains(key), let value, !value.isEmpty { attrs.append(PreparedAttribute(key, value)) }
        }
        add("k8s.namespace.name", namespace)
        add("k8s.pod.name", name)
        add("k8s.pod.uid", uid)
        // Upstream's start time is the pod's creation (present before it is scheduled).
        add("k8s.pod.start_time", meta.creationTimestamp)
        add("k8s.pod.hostname", pod.spec?.hostname)
        add("k8s.pod.ip", pod.status?.podIP)
        for key in ["k8s.deployment.name", "k8s.replicaset.name", "k8s.replicaset.uid", "k8s.daemonset.name",
                    "k8s.daemonset.uid", "k8s.statefulset.name", "k8s.statefulset.uid", "k8s.job.name", "k8s.job.uid",
                    "k8s.cronjob.name"] { add(key, owners[key]) }
        add("k8s.node.name", pod.spec?.nodeName)
        let otel = "resource.opentelemetry.io/"
        add("service.namespace", annotations[otel + "service.namespace"] ?? namespace)
        let serviceName = annotations[otel + "service.name"] ?? labels["app.kubernetes.io/instance"] ?? labels["app.kubernetes.io/name"]
            ?? ["k8s.deployment.name", "k8s.replicaset.name", "k8s.statefulset.name", "k8s.daemonset.name",
                "k8s.cronjob.name", "k8s.job.name"].lazy.compactMap { owners[$0] }.first ?? name
        add("service.name", serviceName)
        let labelVersion = annotations[otel + "service.version"] ?? labels["app.kubernetes.io/version"]
        add("service.version", labelVersion)
        let podInstance = annotations[otel + "service.instance.id"]
        add("service.instance.id", podInstance)
        if otelAnnotations {
            for (key, value) in annotations.sorted(by: { $0.key < $1.key }) where key.hasPrefix(otel) {
                let a = PreparedAttribute(String(key.dropFirst(otel.count)), value)
                if !attrs.contains(where: { $0.key == a.key }) { attrs.append(a) }
            }
        }
        attrs += tags(from: .pod, labels: labels, annotations: annotations)

        var containers: [String: [PreparedAttribute]] = [:]
        var ids: [String: String] = [:]
        var images: [String: String] = [:]
        for c in (pod.spec?.containers ?? []) + (pod.spec?.initContainers ?? []) { images[c.name] = c.image }
        let statuses = (pod.status?.containerStatuses ?? []) + (pod.status?.initContainerStatuses ?? [])
        for c in statuses { if images[c.name] == nil { images[c.name] = c.image } }
        for container in Set(images.keys).union(statuses.map(\.name)).sorted() {
            var list: [PreparedAttribute] = []
            func put(_ key: String, _ value: String?) {
                if fields.contains(key), let value, !value.isEmpty { list.append(PreparedAttribute(key, value)) }
            }
            let id = statuses.first { $0.name == container }?.containerID.map(Self.bareContainerID)
            if let id, !id.isEmpty { ids[id] = container }
            put("k8s.container.name", container)
            put("container.id", id)
            let image = images[container].map(Self.splitImage)
            put("container.image.name", image?.name)
            put("container.image.tag", image?.tag)
            if labelVersion == nil, image?.tagged == true { put("service.version", image?.tag) }
            if podInstance == nil { put("service.instance.id", "\(namespace).\(name).\(container)") }
            containers[container] = list
        }
        // A finished pod's IP is free for the next pod; a host-network pod's is the node's.
        let finished = pod.status?.phase == "Succeeded" || pod.status?.phase == "Failed"
        let ips = pod.spec?.hostNetwork == true || finished ? [] : Self.ips(pod)
        return PodRecord(uid: uid, namespace: namespace, name: name, ips: ips, created: meta.creationTimestamp ?? "",
                         attributes: attrs, containers: containers, containerIDs: ids)
    }

    func record(_ namespace: KubeNamespace) -> NamespaceRecord? {
        guard let uid = namespace.metadata.uid else { return nil }
        return NamespaceRecord(uid: uid, attributes: tags(from: .namespace, labels: namespace.metadata.labels ?? [:],
                                                          annotations: namespace.metadata.annotations ?? [:]))
    }

    /// The `extract.labels` / `extract.annotations` attributes of one object.
    private func tags(from: K8sAttributesSettings.TagRule.From, labels: [String: String],
                      annotations: [String: String]) -> [PreparedAttribute] {
        var out: [PreparedAttribute] = []
        for compiled in rules where compiled.rule.from == from {
            let rule = compiled.rule
            let source = compiled.annotation ? annotations : labels
            let kind = compiled.annotation ? "annotations" : "labels"
            let prefix = "k8s.\(from == .pod ? "pod" : "namespace").\(kind)."
            if let pattern = compiled.pattern {
                for (key, value) in source.sorted(by: { $0.key < $1.key }) where !value.isEmpty {
                    guard let groups = Array(key.utf8).withUnsafeBytes({ pattern.groups($0, anchor: .whole) }) else { continue }
                    // A tag_name without a group reference would give every key one name:
                    // upstream then uses the default names.
                    let name = rule.tagName.contains("$") ? Self.expand(rule.tagName, key: key, groups: groups) : prefix + key
                    out.append(PreparedAttribute(name, value))
                }
            } else if let value = source[rule.key] {
                out.append(PreparedAttribute(rule.tagName.isEmpty ? prefix + rule.key : rule.tagName, value))
            }
        }
        return out
    }

    /// `$1`...`$9` (and `$$1`, as upstream's configs escape it) replaced by the key's groups.
    static func expand(_ template: String, key: String, groups: [Range<Int>?]) -> String {
        let bytes = Array(key.utf8)
        var out = ""
        var chars = Array(template)
        if template.contains("$$") { chars = Array(template.replacing("$$", with: "$")) }
        var i = 0
        while i < chars.count {
            if chars[i] == "$", i + 1 < chars.count, let n = chars[i + 1].wholeNumberValue, n < groups.count {
                if let r = groups[n] { out += String(decoding: bytes[r], as: UTF8.self) }
                i += 2
            } else {
                out.append(chars[i])
                i += 1
            }
        }
        return out
    }

    /// A ReplicaSet `<deployment>-<pod-template-hash>` to its Deployment's name.
    static func deployment(_ replicaSet: String, hash: String?) -> String? {
        if let hash, !hash.isEmpty, replicaSet.hasSuffix("-" + hash) { return String(replicaSet.dropLast(hash.count + 1)) }
        guard let dash = replicaSet.lastIndex(of: "-"), dash != replicaSet.startIndex else { return nil }
        return String(replicaSet[..<dash])
    }

    /// A Job `<cronjob>-<scheduled minutes>` to its CronJob's name; nil when the name has no
    /// numeric suffix (a Job made by hand).
    static func cronJob(_ job: String) -> String? {
        guard let dash = job.lastIndex(of: "-"), dash != job.startIndex else { return nil }
        let suffix = job[job.index(after: dash)...]
        guard !suffix.isEmpty, suffix.allSatisfy(\.isASCII), suffix.allSatisfy(\.isNumber) else { return nil }
        return String(job[..<dash])
    }

    static func bareContainerID(_ id: String) -> String {
        guard let r = id.firstRange(of: "://") else { return id }
        return String(id[r.upperBound...])
    }

    /// `registry:5000/team/app:1.2@sha256:...` to (`registry:5000/team/app`, `1.2`); no tag is
    /// `latest` (`tagged` false: not a version).
    static func splitImage(_ image: String) -> (name: String, tag: String, tagged: Bool) {
        let noDigest = image.split(separator: "@", maxSplits: 1).first.map(String.init) ?? image
        if let colon = noDigest.lastIndex(of: ":"), noDigest[colon...].contains("/") == false {
            return (String(noDigest[..<colon]), String(noDigest[noDigest.index(after: colon)...]), true)
        }
        return (noDigest, "latest", false)
    }

    static func ips(_ pod: KubePod) -> [String] {
        var out: [String] = []
        if let ip = pod.status?.podIP, !ip.isEmpty { out.append(ip) }
        for entry in pod.status?.podIPs ?? [] where !entry.ip.isEmpty && !out.contains(entry.ip) { out.append(entry.ip) }
        return out
    }
}
