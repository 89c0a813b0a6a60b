import CollectorTesting
import Foundation
@testable import KubernetesClient
import Testing

/// The watch loop against the fake server: node-scoped list, events applied, a cut watch
/// resumed, a compaction relisted with nothing stale left.
@Suite(.serialized) struct PodWatcherTests {
    private func pod(_ name: String, node: String) -> [String: Any] {
        ["name": name, "namespace": "shop", "node": node, "ip": "10.0.0.\(name.count)"]
    }

    private func names(_ watcher: PodWatcher) -> [String] {
        watcher.snapshot.values.compactMap(\.metadata.name).sorted()
    }

    @Test func keepsTheNodesPodsThroughCutsAndCompactions() async throws {
        let fake = try await FakeKube(["--tls", "--token", "t", "--bookmark-interval", "1"])
        defer { fake.stop() }
        try await fake.control("pods", [pod("a1", node: "node-a"), pod("b1", node: "node-b")])
        let client = try KubeAPIClient(try KubeConnection.kubeconfig(path: fake.info.kubeconfig, context: nil, environment: [:]))
        let watcher = PodWatcher(client: client, selectors: .init(field: "spec.nodeName=node-a"), watchTimeoutSeconds: 30)
        watcher.start()
        defer { watcher.stop() }
        try await waitUntil("listed") { names(watcher) == ["a1"] }

        try await fake.control("pods", [pod("a2", node: "node-a"), pod("b2", node: "node-b")])
        try await waitUntil("a2 watched") { names(watcher) == ["a1", "a2"] }

        try await fake.control("cut-watches")
        try await fake.control("pods", [pod("a3", node: "node-a")])
        try await waitUntil("a3 after the cut") { names(watcher) == ["a1", "a2", "a3"] }
        #expect(watcher.stats.lists == 1, "a cut resumes the watch, it does not list again")

        // Away while a pod goes and the history is compacted: the relist drops it.
        try await fake.control("compact", ["cut": true])
        try await fake.control("pods/delete", ["namespace": "shop", "name": "a1"])
        try await fake.control("compact", ["cut": true])
        try await waitUntil("relisted") { names(watcher) == ["a2", "a3"] }
        #expect(watcher.stats.relistsAfterGone >= 1)
        let lists = try await fake.requests().filter { ($0["path"] as? String) == "/api/v1/pods" && ($0["watch"] as? Bool) != true }
        #expect(lists.allSatisfy { "\($0["query"] ?? "")".contains("spec.nodeName=node-a") }, "\(lists)")
    }
}
