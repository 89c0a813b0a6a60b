import CollectorCore
import CollectorTesting
import Foundation
import OTLPCodec
import Testing
@testable import K8sAttributesProcessor

/// The processor against the fake API server: only this node's pods are listed, resources are
/// matched by connection, resource attribute and log path, and deletions, reused IPs and cut
/// watches never attribute telemetry to the wrong pod.
@Suite(.serialized) struct K8sAttributesProcessorTests {
    static func span(_ n: Int) -> TestSpan { TestSpan(traceID: traceID(n), spanID: spanID(n), name: "s\(n)", start: 1, end: 2) }

    static func traces(from peer: String?, attributes: [String: TestValue] = [:]) -> TelemetryBatch {
        let payload = OTLPBuild.traces([TestResource(service: "svc", attributes: attributes, items: [span(1)])])
        return TelemetryBatch(signal: .traces, payload: payload, itemCount: 1,
                              origins: peer.map { [BatchOrigin(resources: 1, context: RequestContext(peerAddress: $0))] } ?? [])
    }

    static func logs(path: String, attributes: [String: TestValue] = [:]) -> TelemetryBatch {
        let payload = OTLPBuild.logs([TestResource(service: nil, attributes: attributes, items: [TestLog(time: 5, body: "line")])])
        return TelemetryBatch(signal: .logs, payload: payload, itemCount: 1,
                              origins: [BatchOrigin(resources: 1, context: RequestContext(filePath: path))])
    }

    /// The resource attributes after the processor, as "key=value", in order.
    static func run(_ p: K8sAttributesProcessor, _ batch: TelemetryBatch, now: UInt64) throws -> [String] {
        var out: [TelemetryBatch] = []
        p.process(batch, now: now) { out.append($0) }
        let b = try #require(out.first)
        let signal: OTLPSignal = b.signal == .logs ? .logs : .traces
        return try b.payload.withUnsafeBytes { raw in
            try OTLPRequestLayout(signal, raw).resources.flatMap { r in
                OTLPAttributes.list(raw, r.resourceMessage, field: 1).map { kv in
                    let (key, value) = OTLPAttributes.read(raw, kv)
                    guard case .string(let v) = value else { return OTLPAttributes.string(raw, key) + "=?" }
                    return OTLPAttributes.string(raw, key) + "=" + OTLPAttributes.string(raw, v)
                }
            }
        }
    }

    static var web: [String: Any] { [
        "name": "web-1", "namespace": "shop", "node": "node-a", "ip": "10.1.0.7", "uid": "uid-web-1",
        "owner": ["kind": "Deployment", "name": "web", "hash": "6f9c"], "labels": ["team": "payments"],
        "containers": [["name": "app", "image": "registry.local/web:2.1", "id": "c0ffee"]],
        "start_time": "2026-12-01T10:00:02Z", "creation_time": "2026-12-01T10:00:00Z",
    ] }

    func settings(_ kubeconfig: String) -> K8sAttributesSettings {
        var s = K8sAttributesSettings()
        s.authType = .kubeConfig
        s.kubeConfigPath = kubeconfig
        s.filter.nodeFromEnvVar = "K8S_NODE_NAME"
        s.metadata = ["k8s.namespace.name", "k8s.pod.name", "k8s.pod.uid", "k8s.deployment.name", "k8s.node.name",
                      "container.id", "container.image.name", "container.image.tag", "k8s.cluster.uid"]
        s.labels = [.init(tagName: "team", key: "team", keyRegex: "", from: .pod),
                    .init(tagName: "ns.tier", key: "tier", keyRegex: "", from: .namespace)]
        s.associations = [[.init(from: .resourceAttribute, name: "k8s.pod.ip")],
                          [.init(from: .resourceAttribute, name: "k8s.pod.uid")],
                          [.init(from: .connection, name: "")]]
        s.waitForMetadata = true
        s.deleteGraceNanos = 120_000_000_000
        return s
    }

    @Test func enrichesByConnectionAttributeAndPathThroughDeletesReuseAndCuts() async throws {
        let fake = try await FakeKube(["--tls", "--token", "t0k", "--bookmark-interval", "1"])
        defer { fake.stop() }
        try await fake.control("namespaces", [["name": "shop", "labels": ["tier": "gold"]]])
        try await fake.control("pods", [Self.web,
                                         ["name": "db-0", "namespace": "shop", "node": "node-b", "ip": "10.1.0.9",
                                          "owner": ["kind": "StatefulSet", "name": "db"]]])
        let clock = ManualClock(1_000_000_000)
        let metrics = MetricsRegistry()
        let p = try K8sAttributesProcessor(settings: settings(fake.info.kubeconfig), metrics: metrics, logger: .discarding,
                                           clock: clock, environment: ["K8S_NODE_NAME": "node-a"])
        try p.start()
        defer { p.shutdown() }
        let cluster = try #require(fake.info.cluster_uid)
        // The namespace list is the second watcher's: wait until its label is in.
        try await waitUntil("namespace listed") { p.state.table.withLock { $0.namespaces["shop"] != nil } }

        // The pod's own, then its container's (its only one), then the namespace's and the cluster's.
        let podAttributes = ["k8s.namespace.name=shop", "k8s.pod.name=web-1", "k8s.pod.uid=uid-web-1",
                             "k8s.deployment.name=web", "k8s.node.name=node-a", "team=payments",
                             "container.id=c0ffee", "container.image.name=registry.local/web", "container.image.tag=2.1",
                             "ns.tier=gold", "k8s.cluster.uid=\(cluster)"]
        // By the connection (k8s.pod.ip is added as upstream does), IPv4-mapped or not.
        #expect(try Self.run(p, Self.traces(from: "10.1.0.7:40000"), now: clock.now())
                == ["service.name=svc", "k8s.pod.ip=10.1.0.7"] + podAttributes)
        #expect(try Self.run(p, Self.traces(from: "[::ffff:10.1.0.7]:40000"), now: clock.now())
                == ["service.name=svc", "k8s.pod.ip=10.1.0.7"] + podAttributes)
        // By resource attribute, first rule wins over the connection; what the source set stays.
        #expect(try Self.run(p, Self.traces(from: "10.9.9.9:1", attributes: ["k8s.pod.uid": .string("uid-web-1")]), now: clock.now())
                == ["service.name=svc", "k8s.pod.uid=uid-web-1"] + podAttributes.filter { !$0.hasPrefix("k8s.pod.uid=") })
        // (The SDK's attributes come in dictionary order: compare as sets.)
        #expect(Set(try Self.run(p, Self.traces(from: "10.9.9.9:1", attributes: ["k8s.pod.uid": .string("uid-web-1"),
                                                                                  "k8s.namespace.name": .string("mine")]), now: clock.now()))
                == Set(["service.name=svc", "k8s.pod.uid=uid-web-1", "k8s.namespace.name=mine"]
                    + podAttributes.filter { !$0.hasPrefix("k8s.namespace.name=") && !$0.hasPrefix("k8s.pod.uid=") }))
        // Logs by the uid in their path, with the container from the path.
        #expect(try Self.run(p, Self.logs(path: "/var/log/pods/shop_web-1_uid-web-1/app/0.log"), now: clock.now()) == podAttributes)
        // Another node's pod is not held: nothing added, and the list asked for this node only.
        #expect(try Self.run(p, Self.traces(from: "10.1.0.9:1"), now: clock.now()) == ["service.name=svc"])
        let lists = try await fake.requests().filter { ($0["path"] as? String) == "/api/v1/pods" }
        #expect(!lists.isEmpty && lists.allSatisfy { "\($0["query"] ?? "")".contains("spec.nodeName=node-a") }, "\(lists)")

        // Deleted, and its IP given to a new pod: the IP is the new pod's at once, the old uid
        // still answers (late log lines) until its grace ends.
        try await fake.control("pods/delete", ["namespace": "shop", "name": "web-1"])
        try await fake.control("pods", [["name": "web-2", "namespace": "shop", "node": "node-a", "ip": "10.1.0.7", "uid": "uid-web-2",
                                          "owner": ["kind": "Deployment", "name": "web", "hash": "6f9c"],
                                          "creation_time": "2026-12-01T11:00:00Z"]])
        try await waitUntil("web-2 seen") { p.state.table.withLock { $0.pod(ip: "10.1.0.7")?.uid == "uid-web-2" } }
        #expect(try Self.run(p, Self.traces(from: "10.1.0.7:40000"), now: clock.now()).contains("k8s.pod.name=web-2"))
        #expect(try Self.run(p, Self.logs(path: "/var/log/pods/shop_web-1_uid-web-1/app/0.log"), now: clock.now())
                .contains("k8s.pod.name=web-1"))
        clock.advance(by: 121_000_000_000)
        #expect(try Self.run(p, Self.logs(path: "/var/log/pods/shop_web-1_uid-web-1/app/0.log"), now: clock.now()) == [],
                "gone after 120 s")

        // A cut watch and a compaction: the relist drops a pod deleted meanwhile, and nothing
        // is attributed to it once its grace is over.
        try await fake.control("cut-watches")
        try await fake.control("compact", ["cut": true])
        try await fake.control("pods/delete", ["namespace": "shop", "name": "web-2"])
        try await fake.control("compact", ["cut": true])
        try await waitUntil("relisted, web-2 deleted") {
            p.state.table.withLock { $0.pods["uid-web-2"]?.expires != nil }
                && Self.counter(metrics, "collectord_k8s_watch_relists_after_gone_total{resource=\"pods\"}") >= 1
        }
        clock.advance(by: 121_000_000_000)
        #expect(try Self.run(p, Self.traces(from: "10.1.0.7:40000"), now: clock.now()) == ["service.name=svc"])

        let text = metrics.render()
        #expect(text.contains("otelcol_otelsvc_k8s_pod_added_total 2"), "\(text)")
        #expect(text.contains("otelcol_otelsvc_k8s_pod_deleted_total 2"), "\(text)")
        #expect(text.contains("otelcol_otelsvc_k8s_pod_table_size 0"), "\(text)")
    }

    static func counter(_ metrics: MetricsRegistry, _ series: String) -> Double {
        let line = metrics.render().split(separator: "\n").first { $0.hasPrefix(series + " ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
    }

    // MARK: association rules, without a server (the table filled as a watch would)

    static func processor(_ configure: (inout K8sAttributesSettings) -> Void = { _ in }) throws -> K8sAttributesProcessor {
        var s = K8sAttributesSettings()
        s.metadata = ["k8s.pod.name"]
        configure(&s)
        let p = try K8sAttributesProcessor(settings: s, metrics: MetricsRegistry(), logger: .discarding, clock: ManualClock(),
                                           environment: [:])
        p.state.apply(.synced([PodMetadataTests.pod(name: "web", ip: "10.1.0.7"), PodMetadataTests.pod(name: "api", ip: "10.1.0.8"),
                               PodMetadataTests.pod(name: "quiet", annotations: ["opentelemetry.io/k8s-processor/ignore": " True"],
                                                    ip: "10.1.0.9")]))
        return p
    }

    @Test func theFirstRuleWithValuesDecidesEvenWhenItFindsNothing() throws {
        let p = try Self.processor {
            $0.associations = [[.init(from: .resourceAttribute, name: "k8s.pod.ip")], [.init(from: .connection, name: "")]]
        }
        // An unknown k8s.pod.ip does not fall through to the connection (a forwarder's pod).
        #expect(try Self.run(p, Self.traces(from: "10.1.0.8:1", attributes: ["k8s.pod.ip": .string("10.77.0.1")]), now: 0)
                == ["service.name=svc", "k8s.pod.ip=10.77.0.1"])
        // Without the attribute, the connection rule applies.
        #expect(try Self.run(p, Self.traces(from: "10.1.0.8:1"), now: 0) == ["service.name=svc", "k8s.pod.ip=10.1.0.8", "k8s.pod.name=api"])
    }

    @Test func withoutRulesUpstreamsChainApplies() throws {
        let p = try Self.processor()
        // k8s.pod.ip, then ip, then the connection, then host.name.
        #expect(Set(try Self.run(p, Self.traces(from: "10.1.0.8:1", attributes: ["ip": .string("10.1.0.7")]), now: 0))
                == ["service.name=svc", "ip=10.1.0.7", "k8s.pod.name=web"])
        #expect(try Self.run(p, Self.traces(from: "10.1.0.8:1"), now: 0) == ["service.name=svc", "k8s.pod.ip=10.1.0.8", "k8s.pod.name=api"])
        #expect(try Self.run(p, Self.traces(from: nil, attributes: ["host.name": .string("10.1.0.7")]), now: 0)
                == ["service.name=svc", "host.name=10.1.0.7", "k8s.pod.name=web"])
        #expect(try Self.run(p, Self.traces(from: nil, attributes: ["host.name": .string("node-1")]), now: 0)
                == ["service.name=svc", "host.name=node-1"])
    }

    @Test func ignoredAndExcludedPodsAreNotHeld() throws {
        let p = try Self.processor { $0.excludePods = ["^api$"] }
        #expect(p.state.table.withLock { $0.count } == 1)
        #expect(try Self.run(p, Self.traces(from: "10.1.0.9:1"), now: 0) == ["service.name=svc"], "the ignore annotation")
        #expect(try Self.run(p, Self.traces(from: "10.1.0.8:1"), now: 0) == ["service.name=svc"], "exclude.pods")
        #expect(try Self.run(p, Self.traces(from: "10.1.0.7:1"), now: 0) == ["service.name=svc", "k8s.pod.ip=10.1.0.7", "k8s.pod.name=web"])
    }
}
