import CollectorCore
import CollectorTesting
import Testing
@testable import K8sAttributesProcessor

/// The config as the OTel Collector reads it, and the selectors and failures that come of it.
@Suite struct K8sAttributesConfigTests {
    static let parser = ConfigParser(factories: [StubComponentFactory(type: "otlp", kind: .receiver), K8sAttributesFactory(),
                                                 StubComponentFactory(type: "nop", kind: .exporter)])

    static func yaml(_ body: String) -> String {
        """
        receivers: {otlp: {}}
        processors:
          k8sattributes:
        \(body)
        exporters: {nop: {}}
        service:
          pipelines:
            traces: {receivers: [otlp], processors: [k8sattributes], exporters: [nop]}
        """
    }

    static func settings(_ body: String) throws -> K8sAttributesSettings {
        let config = try parser.parse(yaml: yaml(body), file: "t.yaml", environment: [:])
        return try #require(config.components[.processor]?.first?.settings as? K8sAttributesSettings)
    }

    @Test func theUpstreamChartsPresetIsRead() throws {
        let s = try Self.settings("""
                auth_type: serviceAccount
                passthrough: false
                filter:
                  node_from_env_var: K8S_NODE_NAME
                  fields: [{key: metadata.name, value: skip-me, op: not-equals}]
                  labels: [{key: tier, op: exists}, {key: legacy, op: does-not-exist}, {key: team, value: a}]
                extract:
                  metadata: [k8s.namespace.name, k8s.pod.name, k8s.deployment.name, k8s.cluster.uid, service.name]
                  labels:
                    - {tag_name: app.label.component, key: app.kubernetes.io/component, from: pod}
                    - {key_regex: "team/(.*)", tag_name: "team.$$1", from: namespace}
                  annotations: [{key: owner}]
                  otel_annotations: true
                pod_association:
                  - sources: [{from: resource_attribute, name: k8s.pod.ip}]
                  - sources: [{from: resource_attribute, name: k8s.pod.name}, {from: resource_attribute, name: k8s.namespace.name}]
                  - sources: [{from: connection}]
                exclude:
                  pods: [{name: "^istio-"}]
                wait_for_metadata: true
                wait_for_metadata_timeout: 3s
            """)
        #expect(s.filter.nodeFromEnvVar == "K8S_NODE_NAME")
        #expect(s.metadata == ["k8s.namespace.name", "k8s.pod.name", "k8s.deployment.name", "k8s.cluster.uid", "service.name"])
        #expect(s.labels == [.init(tagName: "app.label.component", key: "app.kubernetes.io/component", keyRegex: "", from: .pod),
                             .init(tagName: "team.$1", key: "", keyRegex: "team/(.*)", from: .namespace)])
        #expect(s.annotations == [.init(tagName: "", key: "owner", keyRegex: "", from: .pod)])
        #expect(s.otelAnnotations)
        #expect(s.associations.map { $0.map(\.name) } == [["k8s.pod.ip"], ["k8s.pod.name", "k8s.namespace.name"], [""]])
        #expect(s.associations[2][0].from == .connection)
        #expect(s.excludePods == ["^istio-"])
        #expect(s.waitForMetadata && s.waitForMetadataTimeoutNanos == 3_000_000_000)

        let p = try K8sAttributesProcessor(settings: s, metrics: MetricsRegistry(), logger: .discarding, clock: ManualClock(),
                                           environment: ["K8S_NODE_NAME": "node-7"])
        let selectors = try p.selectors()
        #expect(selectors.field == "spec.nodeName=node-7,metadata.name!=skip-me")
        #expect(selectors.label == "tier,!legacy,team=a")
        #expect(PodMetadata.expand("team.$1", key: "team/x", groups: [0..<6, 5..<6]) == "team.x")
    }

    @Test func defaults() throws {
        let s = try Self.settings("    {}")
        #expect(s == K8sAttributesSettings())
        #expect(s.authType == .serviceAccount && !s.passthrough && s.associations.isEmpty)
        #expect(s.excludePods == ["jaeger-agent", "jaeger-collector"])
    }

    @Test func anExcludeWithoutPodsKeepsTheDefaults() throws {
        #expect(try Self.settings("    exclude: {}").excludePods == ["jaeger-agent", "jaeger-collector"])
        #expect(try Self.settings("    exclude: {pods: []}").excludePods == [])
    }

    @Test func mistakesAreNamed() {
        let cases: [(String, String)] = [
            ("    auth_type: token", "\"token\" is not one of serviceAccount, kubeConfig, none"),
            ("    extract: {metadata: [k8s.pod.name, k8s.pod.colour]}", "\"k8s.pod.colour\" is not a supported metadata field"),
            ("    extract: {labels: [{key: a, key_regex: b}]}", "set exactly one of key and key_regex"),
            ("    extract: {annotations: [{key_regex: '(('}]}", "invalid regular expression"),
            ("    pod_association: [{sources: [{from: resource_attribute}]}]", "a resource_attribute source needs a name"),
            ("    pod_association: [{sources: [{from: header}]}]", "\"header\" is not one of connection, resource_attribute"),
            ("    filter: {node: a, node_from_env_var: B}", "set filter.node or filter.node_from_env_var, not both"),
            ("    filter: {labels: [{key: a, op: like}]}", "\"like\" is not one of"),
            ("    extract: {metadta: []}", "unknown key \"metadta\""),
        ]
        for (body, message) in cases {
            do {
                _ = try Self.parser.parse(yaml: Self.yaml(body), file: "t.yaml", environment: [:])
                Issue.record("accepted: \(body)")
            } catch {
                #expect("\(error)".contains(message), "\(body): \(error)")
            }
        }
    }

    @Test func anUnsetNodeVariableRefusesToWatchTheWholeCluster() throws {
        var s = K8sAttributesSettings()
        s.filter.nodeFromEnvVar = "K8S_NODE_NAME"
        s.authType = .kubeConfig
        let p = try K8sAttributesProcessor(settings: s, metrics: MetricsRegistry(), logger: .discarding, clock: ManualClock(), environment: [:])
        #expect(throws: ComponentError.permanent("k8sattributes: filter.node_from_env_var: K8S_NODE_NAME is not set; refusing to watch every pod of the cluster")) {
            try p.start()
        }
    }

    @Test func serviceAccountOutsideAPodIsAClearStartError() throws {
        let p = try K8sAttributesProcessor(settings: K8sAttributesSettings(), metrics: MetricsRegistry(), logger: .discarding,
                                           clock: ManualClock(), environment: [:])
        do {
            try p.start()
            Issue.record("started")
        } catch {
            #expect("\(error)".contains("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set"), "\(error)")
        }
    }

    @Test func passthroughOnlyAddsTheConnectionsIP() throws {
        var s = K8sAttributesSettings()
        s.passthrough = true
        let p = try K8sAttributesProcessor(settings: s, metrics: MetricsRegistry(), logger: .discarding, clock: ManualClock(), environment: [:])
        try p.start()
        #expect(try K8sAttributesProcessorTests.run(p, K8sAttributesProcessorTests.traces(from: "10.4.4.4:9"), now: 0)
                == ["service.name=svc", "k8s.pod.ip=10.4.4.4"])
        #expect(try K8sAttributesProcessorTests.run(p, K8sAttributesProcessorTests.traces(from: nil), now: 0) == ["service.name=svc"])
    }
}
