import CollectorTesting
import Foundation
@testable import KubernetesClient
import Synchronization
import Testing

/// EndpointSlices against the fake server: decoded from the official client's models, listed and
/// watched in one namespace by the service-name label.
@Suite(.serialized) struct EndpointSliceWatcherTests {
    private func slice(_ name: String, service: String = "gw", namespace: String = "obs", _ endpoints: [[String: Any]]) -> [String: Any] {
        ["name": name, "namespace": namespace, "service": service, "endpoints": endpoints,
         "ports": [["name": "otlp", "port": 4317], ["name": "otlp-http", "port": 4318]]]
    }

    private func client(_ fake: FakeKube) throws -> KubeAPIClient {
        try KubeAPIClient(try KubeConnection.kubeconfig(path: fake.info.kubeconfig, context: nil, environment: [:]))
    }

    @Test func listsOneServicesSlicesInOneNamespaceAndDecodesThem() async throws {
        let fake = try await FakeKube(["--tls", "--token", "t"])
        defer { fake.stop() }
        try await fake.control("endpointslices", [
            slice("gw-abc", [["ip": "10.0.0.1", "hostname": "gw-0", "pod": "gw-0"],
                             ["ip": "10.0.0.2", "ready": false, "pod": "gw-1"],
                             ["ip": "10.0.0.3", "ready": false, "serving": true, "terminating": true]]),
            slice("gw-v6", [["addresses": ["fd00::1"]]]),
            slice("db-xyz", service: "db", [["ip": "10.0.0.9"]]),
            slice("gw-other", namespace: "elsewhere", [["ip": "10.9.0.1"]]),
        ])
        let (slices, version) = try client(fake).list(KubeEndpointSlice.collectionPath(namespace: "obs"), KubeEndpointSlice.self,
                                                      selectors: .init(label: "kubernetes.io/service-name=gw"))
        #expect(Int(version) != nil)
        let byName = Dictionary(uniqueKeysWithValues: slices.map { ($0.metadata.name ?? "", $0) })
        #expect(byName.keys.sorted() == ["gw-abc", "gw-v6"])
        let abc = try #require(byName["gw-abc"])
        #expect(abc.addressType == "IPv4")
        #expect(abc.metadata.namespace == "obs" && abc.metadata.labels?["kubernetes.io/service-name"] == "gw")
        #expect(abc.ports == [.init(name: "otlp", port: 4317, protocol: "TCP"), .init(name: "otlp-http", port: 4318, protocol: "TCP")])
        #expect(abc.endpoints == [
            .init(addresses: ["10.0.0.1"], conditions: .init(ready: true, serving: true, terminating: false), hostname: "gw-0"),
            .init(addresses: ["10.0.0.2"], conditions: .init(ready: false, serving: false, terminating: false)),
            .init(addresses: ["10.0.0.3"], conditions: .init(ready: false, serving: true, terminating: true)),
        ])
        #expect(abc.endpoints.map(\.isReady) == [true, false, false])
        #expect(byName["gw-v6"]?.addressType == "IPv6" && byName["gw-v6"]?.endpoints.first?.addresses == ["fd00::1"])
        let lists = try await fake.requests().filter { ($0["path"] as? String)?.hasSuffix("/endpointslices") == true }
        #expect(lists.map { $0["path"] as? String } == ["/apis/discovery.k8s.io/v1/namespaces/obs/endpointslices"])
        #expect((lists.first?["query"] as? [String: Any])?["labelSelector"] as? String == "kubernetes.io/service-name=gw")
    }

    /// Missing and null `endpoints` / `ports` (an empty slice) decode as empty; a nil `ready` is read as ready.
    @Test func emptySlicesAndUnknownConditionsDecode() throws {
        let json = #"{"metadata":{"name":"gw-e","namespace":"obs"},"addressType":"IPv4","endpoints":null}"#
        let empty = try JSONDecoder().decode(KubeEndpointSlice.self, from: Data(json.utf8))
        #expect(empty.endpoints.isEmpty && empty.ports.isEmpty && empty.addressType == "IPv4")
        let unknown = #"{"metadata":{"name":"gw-u"},"addressType":"IPv4","endpoints":[{"addresses":["10.0.0.5"]},{"addresses":["10.0.0.6"],"conditions":{"serving":false}}]}"#
        let slice = try JSONDecoder().decode(KubeEndpointSlice.self, from: Data(unknown.utf8))
        #expect(slice.endpoints.map(\.isReady) == [true, false])
    }

    /// The watcher keeps the slices through events, a cut and a compaction (410 relist); only
    /// the one Service's slices, only its namespace.
    @Test func watcherKeepsTheServicesSlices() async throws {
        let fake = try await FakeKube(["--tls", "--token", "t", "--bookmark-interval", "1"])
        defer { fake.stop() }
        try await fake.control("endpointslices", [slice("gw-1", [["ip": "10.0.0.1"]]), slice("db-1", service: "db", [["ip": "10.0.0.9"]])])
        let changes = Mutex<[String]>([])
        let failures = Mutex<[String]>([])
        let watcher = EndpointSliceWatcher(client: try client(fake), service: "gw", namespace: "obs", watchTimeoutSeconds: 30,
                                           backoffMillis: { _ in 50 },
                                           onFailure: { error in failures.withLock { $0.append("\(error)") } },
                                           onChange: { change in
                                               let line: String
                                               switch change {
                                               case .synced(let all): line = "synced \(all.compactMap(\.metadata.name).sorted())"
                                               case .upserted(let s): line = "upserted \(s.metadata.name ?? "") \(s.endpoints.flatMap(\.addresses))"
                                               case .deleted(let s): line = "deleted \(s.metadata.name ?? "")"
                                               }
                                               changes.withLock { $0.append(line) }
                                           })
        watcher.start()
        defer { watcher.stop() }
        func names() -> [String] { watcher.snapshot.values.compactMap(\.metadata.name).sorted() }
        try await waitUntil("listed") { names() == ["gw-1"] }

        try await fake.control("endpointslices/endpoints", ["namespace": "obs", "name": "gw-1", "set": [["ip": "10.0.0.2"]]])
        try await fake.control("endpointslices", [slice("gw-2", [["ip": "10.0.0.3"]]), slice("db-2", service: "db", [["ip": "10.0.0.8"]]),
                                                  slice("gw-3", namespace: "elsewhere", [["ip": "10.9.0.1"]])])
        try await waitUntil("events") { names() == ["gw-1", "gw-2"] }
        #expect(watcher.snapshot.values.first { $0.metadata.name == "gw-1" }?.endpoints.map(\.addresses) == [["10.0.0.1"], ["10.0.0.2"]])

        try await fake.control("cut-watches")
        try await fake.control("endpointslices/delete", ["namespace": "obs", "name": "gw-1"])
        try await waitUntil("deleted after the cut") { names() == ["gw-2"] }
        #expect(watcher.stats.lists == 1, "a cut resumes the watch")

        try await fake.control("compact", ["cut": true])
        try await fake.control("endpointslices", [slice("gw-4", [["ip": "10.0.0.4"]])])
        try await fake.control("compact", ["cut": true])
        // However the relists fall between the two compactions, the last one lists both.
        try await waitUntil("relisted") { changes.withLock { $0.last } == "synced [\"gw-2\", \"gw-4\"]" }
        #expect(names() == ["gw-2", "gw-4"] && watcher.stats.relistsAfterGone >= 1)
        let seen = changes.withLock { $0 }
        #expect(Array(seen.prefix(4)) == ["synced [\"gw-1\"]", "upserted gw-1 [\"10.0.0.1\", \"10.0.0.2\"]",
                                          "upserted gw-2 [\"10.0.0.3\"]", "deleted gw-1"], "\(seen)")
        #expect(failures.withLock { $0 }.contains { $0.contains("too old resource version") }, "\(failures.withLock { $0 })")
        let paths = Set(try await fake.requests().compactMap { $0["path"] as? String })
        #expect(paths == ["/apis/discovery.k8s.io/v1/namespaces/obs/endpointslices"], "\(paths)")
    }
}
