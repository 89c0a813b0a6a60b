import CollectorCore
import Testing
@testable import K8sAttributesProcessor
@testable import KubernetesClient

/// Records made from pods: owner names, images, container ids, labels and annotations, and
/// the `service.*` attributes, exactly.
@Suite struct PodMetadataTests {
    static func pod(name: String = "web-7d4b9c-x2x9q", labels: [String: String] = [:], annotations: [String: String] = [:],
                    owner: (String, String)? = ("ReplicaSet", "web-7d4b9c"), hostNetwork: Bool = false, phase: String = "Running",
                    ip: String = "10.1.0.7") -> KubePod {
        KubePod(
            metadata: KubeObjectMeta(name: name, namespace: "shop", uid: "uid-\(name)", resourceVersion: "5",
                                     creationTimestamp: "2026-12-01T10:00:00Z", deletionTimestamp: nil,
                                     labels: labels, annotations: annotations,
                                     ownerReferences: owner.map { [.init(kind: $0.0, name: $0.1, uid: "o1")] }),
            spec: .init(nodeName: "node-a", hostNetwork: hostNetwork,
                        containers: [.init(name: "app", image: "registry.local:5000/team/web:2.1@sha256:abcd"),
                                     .init(name: "proxy", image: "envoy")], initContainers: nil),
            status: .init(phase: phase, podIP: ip, podIPs: [.init(ip: ip), .init(ip: "fd00::7")], startTime: "2026-12-01T10:00:02Z",
                          containerStatuses: [.init(name: "app", containerID: "containerd://c0ffee", image: "x", imageID: nil, restartCount: 0),
                                              .init(name: "proxy", containerID: "cri-o://beef", image: "envoy", imageID: nil, restartCount: 1)],
                          initContainerStatuses: nil))
    }

    static func texts(_ attrs: [PreparedAttribute]) -> [String] {
        attrs.map { a in
            // The value is a string AnyValue: tag 0x0a, length, bytes.
            "\(a.name)=\(String(decoding: a.value.dropFirst(2), as: UTF8.self))"
        }
    }

    @Test func everyMetadataFieldOfADeploymentPod() throws {
        var s = K8sAttributesSettings()
        s.metadata = Array(K8sAttributesSettings.allMetadata).sorted()
        let record = try #require(PodMetadata(s).record(Self.pod(labels: ["pod-template-hash": "7d4b9c", "app.kubernetes.io/version": "2.1.0"])))
        #expect(Self.texts(record.attributes) == [
            "k8s.namespace.name=shop", "k8s.pod.name=web-7d4b9c-x2x9q", "k8s.pod.uid=uid-web-7d4b9c-x2x9q",
            "k8s.pod.start_time=2026-12-01T10:00:00Z", "k8s.pod.ip=10.1.0.7", "k8s.deployment.name=web",
            "k8s.replicaset.name=web-7d4b9c", "k8s.replicaset.uid=o1", "k8s.node.name=node-a", "service.namespace=shop", "service.name=web",
            "service.version=2.1.0",
        ])
        #expect(Self.texts(record.containers["app"] ?? []) == [
            "k8s.container.name=app", "container.id=c0ffee", "container.image.name=registry.local:5000/team/web",
            "container.image.tag=2.1", "service.instance.id=shop.web-7d4b9c-x2x9q.app",
        ])
        #expect(Self.texts(record.containers["proxy"] ?? []) == [
            "k8s.container.name=proxy", "container.id=beef", "container.image.name=envoy", "container.image.tag=latest",
            "service.instance.id=shop.web-7d4b9c-x2x9q.proxy",
        ])
        #expect(record.containerIDs == ["c0ffee": "app", "beef": "proxy"])
        #expect(record.ips == ["10.1.0.7", "fd00::7"])
    }

    @Test func defaultMetadataAndOwners() throws {
        let m = PodMetadata(K8sAttributesSettings())
        let cron = try #require(m.record(Self.pod(name: "nightly-29010240-abcde", owner: ("Job", "nightly-29010240"))))
        #expect(Self.texts(cron.attributes) == [
            "k8s.namespace.name=shop", "k8s.pod.name=nightly-29010240-abcde", "k8s.pod.uid=uid-nightly-29010240-abcde",
            "k8s.pod.start_time=2026-12-01T10:00:00Z", "k8s.node.name=node-a",
        ])
        var all = K8sAttributesSettings()
        all.metadata = ["k8s.job.name", "k8s.cronjob.name", "k8s.daemonset.name", "k8s.statefulset.name", "k8s.deployment.name"]
        let p = PodMetadata(all)
        #expect(Self.texts(try #require(p.record(Self.pod(owner: ("Job", "nightly-29010240")))).attributes)
                == ["k8s.job.name=nightly-29010240", "k8s.cronjob.name=nightly"])
        #expect(Self.texts(try #require(p.record(Self.pod(owner: ("Job", "migrate-db")))).attributes) == ["k8s.job.name=migrate-db"])
        #expect(Self.texts(try #require(p.record(Self.pod(owner: ("DaemonSet", "agent")))).attributes) == ["k8s.daemonset.name=agent"])
        #expect(Self.texts(try #require(p.record(Self.pod(owner: ("StatefulSet", "db")))).attributes) == ["k8s.statefulset.name=db"])
        // The hash label decides where the deployment name ends, even with dashes in the hash's place.
        #expect(Self.texts(try #require(p.record(Self.pod(labels: ["pod-template-hash": "5f-6"], owner: ("ReplicaSet", "api-v2-5f-6")))).attributes)
                == ["k8s.deployment.name=api-v2"])
    }

    @Test func labelsAnnotationsAndOtelAnnotations() throws {
        var s = K8sAttributesSettings()
        s.metadata = ["service.name", "service.version", "service.instance.id"]
        s.otelAnnotations = true
        s.labels = [.init(tagName: "", key: "team", keyRegex: "", from: .pod),
                    .init(tagName: "app.$1", key: "", keyRegex: "app\\.kubernetes\\.io/(.*)", from: .pod),
                    .init(tagName: "ns.owner", key: "owner", keyRegex: "", from: .namespace)]
        s.annotations = [.init(tagName: "", key: "", keyRegex: "build/.*", from: .pod),
                         .init(tagName: "one.name", key: "", keyRegex: "note/.*", from: .pod)]
        let m = PodMetadata(s)
        let record = try #require(m.record(Self.pod(
            labels: ["team": "payments", "app.kubernetes.io/name": "checkout", "app.kubernetes.io/part-of": "shop", "other": "x"],
            annotations: ["resource.opentelemetry.io/service.name": "checkout-api", "resource.opentelemetry.io/deployment.environment.name": "prod",
                          "build/sha": "1a2b", "build/date": "today", "build/empty": "", "note/a": "x", "note/b": "y"])))
        #expect(Self.texts(record.attributes) == [
            "service.name=checkout-api",
            "deployment.environment.name=prod",
            "k8s.pod.labels.team=payments", "app.name=checkout", "app.part-of=shop",
            "k8s.pod.annotations.build/date=today", "k8s.pod.annotations.build/sha=1a2b",
            // A tag_name without a group reference falls back to the default names.
            "k8s.pod.annotations.note/a=x", "k8s.pod.annotations.note/b=y",
        ])
        #expect(Self.texts(record.containers["proxy"] ?? []) == ["service.instance.id=shop.web-7d4b9c-x2x9q.proxy"],
                "an untagged image gives no service.version")
        #expect(Self.texts(record.containers["app"] ?? []) == ["service.version=2.1", "service.instance.id=shop.web-7d4b9c-x2x9q.app"])
        let ns = try #require(m.record(KubeNamespace(metadata: KubeObjectMeta(name: "shop", uid: "ns1", labels: ["owner": "team-a"]))))
        #expect(Self.texts(ns.attributes) == ["ns.owner=team-a"])
        #expect(m.needsNamespaces)
        #expect(!PodMetadata(K8sAttributesSettings()).needsNamespaces)
    }

    @Test func serviceNameFallsBackThroughLabelsAndOwners() throws {
        var s = K8sAttributesSettings()
        s.metadata = ["service.name"]
        let m = PodMetadata(s)
        func name(_ pod: KubePod) -> [String] { Self.texts(m.record(pod)?.attributes ?? []) }
        #expect(name(Self.pod(labels: ["app.kubernetes.io/instance": "i", "app.kubernetes.io/name": "n"])) == ["service.name=i"])
        #expect(name(Self.pod(labels: ["app.kubernetes.io/name": "n"])) == ["service.name=n"])
        #expect(name(Self.pod(owner: ("StatefulSet", "db"))) == ["service.name=db"])
        #expect(name(Self.pod(name: "lonely", owner: nil)) == ["service.name=lonely"])
    }

    @Test func hostNetworkAndFinishedPodsClaimNoIP() throws {
        let m = PodMetadata(K8sAttributesSettings())
        #expect(m.record(Self.pod(hostNetwork: true))?.ips == [])
        #expect(m.record(Self.pod(phase: "Succeeded"))?.ips == [])
        #expect(m.record(Self.pod(phase: "Failed"))?.ips == [])
        #expect(m.record(Self.pod(phase: "Pending"))?.ips == ["10.1.0.7", "fd00::7"])
    }

    @Test func imagesAndIDs() {
        #expect(PodMetadata.splitImage("nginx") == ("nginx", "latest", false))
        #expect(PodMetadata.splitImage("nginx:1.25") == ("nginx", "1.25", true))
        #expect(PodMetadata.splitImage("localhost:5000/nginx") == ("localhost:5000/nginx", "latest", false))
        #expect(PodMetadata.splitImage("ghcr.io/a/b:v1@sha256:00") == ("ghcr.io/a/b", "v1", true))
        #expect(PodMetadata.splitImage("ghcr.io/a/b@sha256:00") == ("ghcr.io/a/b", "latest", false))
        #expect(PodMetadata.bareContainerID("containerd://abc") == "abc")
        #expect(PodMetadata.bareContainerID("abc") == "abc")
        #expect(PodMetadata.cronJob("backup-28000001") == "backup")
        #expect(PodMetadata.cronJob("backup-x1") == nil)
        #expect(PodMetadata.deployment("web-abc", hash: nil) == "web")
        #expect(PodMetadata.deployment("web", hash: nil) == nil)
    }
}
