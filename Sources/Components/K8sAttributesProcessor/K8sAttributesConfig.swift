import CollectorCore
import Patterns

/// Settings of the `k8sattributes` processor, with the OpenTelemetry Collector's keys.
public struct K8sAttributesSettings: ComponentSettings, Equatable {
    public enum AuthType: String, Sendable, CaseIterable { case serviceAccount, kubeConfig, none }

    /// `filter.fields` / `filter.labels` entries, sent to the API server as selectors.
    public struct SelectorTerm: Sendable, Equatable {
        public enum Op: String, Sendable { case equals, notEquals = "not-equals", exists, doesNotExist = "does-not-exist" }
        public var key: String
        public var value: String
        public var op: Op
    }

    public struct Filter: Sendable, Equatable {
        public var node = ""
        public var nodeFromEnvVar = ""
        public var namespace = ""
        public var fields: [SelectorTerm] = []
        public var labels: [SelectorTerm] = []
    }

    /// `extract.labels` / `extract.annotations` entries.
    public struct TagRule: Sendable, Equatable {
        public enum From: String, Sendable { case pod, namespace }
        public var tagName: String
        public var key: String
        public var keyRegex: String
        public var from: From
    }

    /// One source of a `pod_association` rule.
    public struct AssociationSource: Sendable, Equatable {
        public enum From: String, Sendable { case connection, resourceAttribute = "resource_attribute" }
        public var from: From
        /// The resource attribute (for `resource_attribute`).
        public var name: String
    }

    public var authType = AuthType.serviceAccount
    public var kubeConfigPath = ""
    public var context = ""
    public var passthrough = false
    public var filter = Filter()
    public var metadata = K8sAttributesSettings.defaultMetadata
    public var labels: [TagRule] = []
    public var annotations: [TagRule] = []
    public var otelAnnotations = false
    /// Rules in order, each a list of sources that must all resolve. Empty: the connection.
    public var associations: [[AssociationSource]] = []
    /// `exclude.pods[].name` patterns.
    public var excludePods = ["jaeger-agent", "jaeger-collector"]
    public var waitForMetadata = false
    public var waitForMetadataTimeoutNanos: UInt64 = 10_000_000_000
    /// How long a deleted pod still answers (its late telemetry is still attributed).
    public var deleteGraceNanos: UInt64 = 120_000_000_000

    public init() {}

    /// Upstream's default `extract.metadata`.
    public static let defaultMetadata = [
        "k8s.namespace.name", "k8s.pod.name", "k8s.pod.uid", "k8s.pod.start_time", "k8s.deployment.name",
        "k8s.node.name", "container.image.name", "container.image.tag",
    ]

    public static let allMetadata: Set<String> = [
        "k8s.namespace.name", "k8s.pod.name", "k8s.pod.uid", "k8s.pod.start_time", "k8s.pod.ip", "k8s.pod.hostname",
        "k8s.deployment.name", "k8s.replicaset.name", "k8s.replicaset.uid", "k8s.daemonset.name", "k8s.daemonset.uid",
        "k8s.statefulset.name", "k8s.statefulset.uid", "k8s.job.name", "k8s.job.uid", "k8s.cronjob.name",
        "k8s.node.name", "k8s.container.name", "container.id", "container.image.name", "container.image.tag",
        "k8s.cluster.uid", "service.name", "service.namespace", "service.version", "service.instance.id",
    ]
}

public struct K8sAttributesFactory: ProcessorFactory {
    public init() {}
    public var type: String { "k8sattributes" }
    public var kind: ComponentKind { .processor }
    public var signals: Set<Signal> { [.traces, .logs, .metrics] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = K8sAttributesSettings()
        let auth = reader.choice("auth_type", K8sAttributesSettings.AuthType.allCases.map(\.rawValue), default: "serviceAccount")
        s.authType = K8sAttributesSettings.AuthType(rawValue: auth) ?? .serviceAccount
        s.kubeConfigPath = reader.string("kube_config_path", default: "")
        s.context = reader.string("context", default: "")
        s.passthrough = reader.bool("passthrough", default: false)
        if let f = reader.section("filter") { s.filter = Self.filter(f) }
        if let e = reader.section("extract") {
            if e.raw("metadata") != nil {
                s.metadata = e.stringList("metadata")
                for (name, node) in zip(s.metadata, Self.items(e.node["metadata"]))
                where !K8sAttributesSettings.allMetadata.contains(name) {
                    e.sink.add(node, "\"\(name)\" is not a supported metadata field")
                }
            }
            s.labels = Self.tagRules(e.sectionList("labels"), what: "labels")
            s.annotations = Self.tagRules(e.sectionList("annotations"), what: "annotations")
            s.otelAnnotations = e.bool("otel_annotations", default: false)
        }
        for (i, rule) in reader.sectionList("pod_association").enumerated() {
            var sources: [K8sAttributesSettings.AssociationSource] = []
            for source in rule.sectionList("sources") {
                let from = source.choice("from", ["connection", "resource_attribute"], default: "")
                let name = source.string("name", default: "")
                if from.isEmpty { source.problem("from", "missing \"from\" (connection or resource_attribute)") }
                if from == "resource_attribute", name.isEmpty { source.problem("name", "a resource_attribute source needs a name") }
                if let f = K8sAttributesSettings.AssociationSource.From(rawValue: from) { sources.append(.init(from: f, name: name)) }
            }
            if sources.isEmpty { rule.problem("sources", "pod_association rule \(i) has no sources") }
            s.associations.append(sources)
        }
        if let ex = reader.section("exclude"), ex.node["pods"] != nil {
            let pods = ex.sectionList("pods")
            s.excludePods = pods.map { $0.string("name", default: "") }
            for (p, r) in zip(s.excludePods, pods) where p.isEmpty { r.problem("name", "an excluded pod needs a name") }
            for p in s.excludePods where !p.isEmpty {
                do throws(Pattern.SyntaxError) { _ = try Pattern(p) } catch { ex.problem("pods", error.description) }
            }
        }
        s.waitForMetadata = reader.bool("wait_for_metadata", default: false)
        s.waitForMetadataTimeoutNanos = reader.duration("wait_for_metadata_timeout", default: s.waitForMetadataTimeoutNanos)
        if s.filter.node.isEmpty == false, s.filter.nodeFromEnvVar.isEmpty == false {
            reader.problem("filter", "set filter.node or filter.node_from_env_var, not both")
        }
        return s
    }

    public func makeProcessor(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Processor {
        try K8sAttributesProcessor(settings: try context.settings(settings, as: K8sAttributesSettings.self),
                                   metrics: context.metrics, logger: context.logger)
    }

    private static func items(_ node: ConfigNode?) -> [ConfigNode] {
        if case .sequence(let items)? = node?.value { return items }
        return []
    }

    private static func filter(_ r: ConfigReader) -> K8sAttributesSettings.Filter {
        var f = K8sAttributesSettings.Filter()
        f.node = r.string("node", default: "")
        f.nodeFromEnvVar = r.string("node_from_env_var", default: "")
        f.namespace = r.string("namespace", default: "")
        f.fields = terms(r.sectionList("fields"), allowed: ["equals", "not-equals"])
        f.labels = terms(r.sectionList("labels"), allowed: ["equals", "not-equals", "exists", "does-not-exist"])
        return f
    }

    private static func terms(_ readers: [ConfigReader], allowed: [String]) -> [K8sAttributesSettings.SelectorTerm] {
        readers.compactMap { t -> K8sAttributesSettings.SelectorTerm? in
            let key = t.string("key", default: "")
            let value = t.string("value", default: "")
            let op = t.choice("op", allowed, default: "equals")
            if key.isEmpty { t.problem("key", "a filter term needs a key"); return nil }
            return .init(key: key, value: value, op: .init(rawValue: op) ?? .equals)
        }
    }

    private static func tagRules(_ readers: [ConfigReader], what: String) -> [K8sAttributesSettings.TagRule] {
        readers.compactMap { t -> K8sAttributesSettings.TagRule? in
            let rule = K8sAttributesSettings.TagRule(
                tagName: t.string("tag_name", default: ""), key: t.string("key", default: ""),
                keyRegex: t.string("key_regex", default: ""),
                from: .init(rawValue: t.choice("from", ["pod", "namespace"], default: "pod")) ?? .pod)
            if rule.key.isEmpty == rule.keyRegex.isEmpty {
                t.problem("key", "extract.\(what): set exactly one of key and key_regex")
                return nil
            }
            if !rule.keyRegex.isEmpty {
                do throws(Pattern.SyntaxError) { _ = try Pattern(rule.keyRegex) } catch {
                    t.problem("key_regex", error.description)
                    return nil
                }
            }
            return rule
        }
    }
}
