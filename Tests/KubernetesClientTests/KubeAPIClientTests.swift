import CollectorTesting
import Foundation
import HTTPClient
@testable import KubernetesClient
import Testing

/// The client against the fake API server (real list/watch protocol over TLS).
@Suite(.serialized) struct KubeAPIClientTests {
    private func pod(_ name: String, node: String, ip: String) -> [String: Any] {
        ["name": name, "namespace": "shop", "node": node, "ip": ip, "owner": ["kind": "Deployment", "name": "web"],
         "containers": [["name": "app", "image": "registry/web:1.2"]]]
    }

    @Test func kubeconfigTokenListsOnlyTheNodesPodsAcrossPages() async throws {
        let fake = try await FakeKube(["--tls", "--token", "secret-1"])
        defer { fake.stop() }
        try await fake.control("pods", [pod("a1", node: "node-a", ip: "10.0.0.1"), pod("a2", node: "node-a", ip: "10.0.0.2"),
                                        pod("b1", node: "node-b", ip: "10.0.0.3")])
        let connection = try KubeConnection.kubeconfig(path: fake.info.kubeconfig, context: nil, environment: [:])
        #expect(connection.token == .fixed("secret-1"))
        let client = try KubeAPIClient(connection)
        let (pods, version) = try client.list("/api/v1/pods", KubePod.self,
                                              selectors: .init(field: "spec.nodeName=node-a"), pageSize: 1)
        #expect(pods.map { $0.metadata.name ?? "" }.sorted() == ["a1", "a2"])
        #expect(pods.allSatisfy { $0.spec?.nodeName == "node-a" && $0.metadata.namespace == "shop" })
        let owner = try #require(pods.first?.metadata.ownerReferences?.first)
        #expect(owner.kind == "ReplicaSet" && owner.name.hasPrefix("web-"))
        #expect(pods.first?.status?.containerStatuses?.first?.containerID?.hasPrefix("containerd://") == true)
        #expect(Int(version) != nil)
        let lists = try await fake.requests().filter { ($0["path"] as? String) == "/api/v1/pods" }
        #expect(lists.count == 2, "two pages of one")
        #expect(lists.allSatisfy { ($0["query"] as? [String: Any])?["fieldSelector"] as? String == "spec.nodeName=node-a"
                || "\($0["query"] ?? "")".contains("spec.nodeName=node-a") }, "\(lists)")
        #expect(lists.allSatisfy { ($0["auth"] as? String) == "token" })
    }

    @Test func clientCertificatesFromDataAndFromFiles() async throws {
        let fake = try await FakeKube(["--client-cert-auth"])
        defer { fake.stop() }
        try await fake.control("pods", [pod("a1", node: "node-a", ip: "10.0.0.1")])
        for context in ["fake", "fake-alt"] {
            let connection = try KubeConnection.kubeconfig(path: fake.info.kubeconfig, context: context, environment: [:])
            let pods = try KubeAPIClient(connection).list("/api/v1/pods", KubePod.self).items
            #expect(pods.map(\.metadata.name) == ["a1"], "context \(context)")
        }
        let users = try await fake.requests().compactMap { $0["user"] as? String }
        #expect(users == ["collectord", "collectord-alt"], "\(users)")
        #expect(throws: KubeError.self) { try KubeConnection.kubeconfig(path: fake.info.kubeconfig, context: "nope", environment: [:]) }
    }

    @Test func inClusterTokenIsReReadWhenItRotates() async throws {
        let fake = try await FakeKube(["--tls", "--token", "first"])
        defer { fake.stop() }
        let env = ["KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": String(fake.info.port)]
        let connection = try KubeConnection.inCluster(environment: env, directory: fake.info.serviceaccount_dir)
        let client = try KubeAPIClient(connection)
        #expect(try client.list("/api/v1/namespaces", KubeNamespace.self).items.contains { $0.metadata.name == "kube-system" })
        try await fake.control("rotate-token", ["token": "second", "grace_seconds": 0])
        #expect(try client.list("/api/v1/namespaces", KubeNamespace.self).items.contains { $0.metadata.name == "kube-system" })
        #expect(throws: KubeError.self) { try KubeConnection.inCluster(environment: [:]) }
    }

    @Test func watchDeliversEventsAndReports410AndCuts() async throws {
        let fake = try await FakeKube(["--tls", "--token", "t"])
        defer { fake.stop() }
        let client = try KubeAPIClient(try KubeConnection.kubeconfig(path: fake.info.kubeconfig, context: nil, environment: [:]))
        let (_, version) = try client.list("/api/v1/pods", KubePod.self)
        try await fake.control("pods", [pod("new", node: "node-a", ip: "10.0.0.9"), pod("other", node: "node-b", ip: "10.0.0.8")])
        try await fake.control("pods/delete", ["namespace": "shop", "name": "new"])
        var seen: [String] = []
        // The server ends the watch after timeoutSeconds: a normal return.
        try client.watch("/api/v1/pods", KubePod.self, resourceVersion: version, selectors: .init(field: "spec.nodeName=node-a"),
                         timeoutSeconds: 2) { event in
            switch event {
            case .added(let p): seen.append("ADDED \(p.metadata.name ?? "")")
            case .modified(let p): seen.append("MODIFIED \(p.metadata.name ?? "")")
            case .deleted(let p): seen.append("DELETED \(p.metadata.name ?? "")")
            case .bookmark: seen.append("BOOKMARK")
            case .error(let s): seen.append("ERROR \(s.code ?? 0)")
            }
        }
        #expect(Array(seen.filter { $0 != "BOOKMARK" }) == ["ADDED new", "DELETED new"])
        #expect(seen.contains("BOOKMARK"))

        try await fake.control("compact")
        #expect(throws: KubeError.self) {
            try client.watch("/api/v1/pods", KubePod.self, resourceVersion: version, timeoutSeconds: 2) { _ in }
        }
        do {
            try client.watch("/api/v1/pods", KubePod.self, resourceVersion: version, timeoutSeconds: 2) { _ in }
        } catch {
            guard case .gone = error else { Issue.record("expected 410 Gone, got \(error)"); return }
        }
    }
}
