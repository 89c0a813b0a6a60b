import BackendResolver
import CollectorCore
import CollectorTesting
import Foundation
import KubernetesClient
import Synchronization
import Testing

/// `K8sResolver` against the fake API server: the set follows the Service's EndpointSlices
/// through adds, removals, readiness, a second slice, a cut watch and a 410 relist, and the
/// owner hears of every change.
@Suite(.serialized) struct K8sResolverTests {
    private func slice(_ name: String, _ endpoints: [[String: Any]], service: String = "gw") -> [String: Any] {
        ["name": name, "namespace": "obs", "service": service, "endpoints": endpoints]
    }

    /// What the resolver told its owner and its log.
    private final class Recorder: Sendable {
        let changes = Mutex<[[String]]>([])
        let logs = Mutex<[String]>([])
    }

    private struct Setup {
        let fake: FakeKube
        let resolver: K8sResolver
        let recorder: Recorder
        var changes: [[String]] { recorder.changes.withLock { $0 } }
        var logs: [String] { recorder.logs.withLock { $0 } }
    }

    private func setup(_ settings: K8sResolverSettings, slices: [[String: Any]]) async throws -> Setup {
        let fake = try await FakeKube(["--tls", "--token", "t", "--bookmark-interval", "1"])
        if !slices.isEmpty { try await fake.control("endpointslices", slices) }
        let client = try KubeAPIClient(try KubeConnection.kubeconfig(path: fake.info.kubeconfig, context: nil, environment: [:]),
                                       timeoutNanos: settings.timeoutNanos)
        let recorder = Recorder()
        let logger = Logger(minimum: .debug) { level, line in recorder.logs.withLock { $0.append("\(level) \(line)") } }
        let resolver = K8sResolver(settings: settings, namespace: "obs", client: client, logger: logger, watchTimeoutSeconds: 30,
                                   backoffMillis: { _ in 50 }, onChange: { list in recorder.changes.withLock { $0.append(list) } })
        return Setup(fake: fake, resolver: resolver, recorder: recorder)
    }

    @Test func followsTheServicesEndpoints() async throws {
        let s = try await setup(K8sResolverSettings(service: "gw"), slices: [
            slice("gw-a", [["ip": "10.0.0.1"], ["ip": "10.0.0.2"], ["ip": "10.0.0.3", "ready": false]]),
            slice("db-a", [["ip": "10.0.9.1"]], service: "db"),
        ])
        defer { s.fake.stop() }
        #expect(throws: ResolverError.self) { try s.resolver.resolve().get() }  // before the first list
        s.resolver.start()
        defer { s.resolver.stop() }
        #expect(s.resolver.waitForSync(timeoutNanos: 10_000_000_000))
        #expect(try s.resolver.resolve().get() == ["10.0.0.1:4317", "10.0.0.2:4317"])
        #expect(s.resolver.version == 1 && s.changes == [["10.0.0.1:4317", "10.0.0.2:4317"]])

        // A pod added, one removed, the not-ready one becoming ready, one terminating.
        try await s.fake.control("endpointslices/endpoints", ["namespace": "obs", "name": "gw-a",
                                                               "set": [["ip": "10.0.0.4"]], "remove": ["10.0.0.1"]])
        try await waitUntil("added and removed") { s.changes.last == ["10.0.0.2:4317", "10.0.0.4:4317"] }
        #expect(s.resolver.endpoints == ["10.0.0.2:4317", "10.0.0.4:4317"])
        try await s.fake.control("endpointslices/endpoints", ["namespace": "obs", "name": "gw-a",
                                                               "set": [["ip": "10.0.0.3", "ready": true, "serving": true],
                                                                       ["ip": "10.0.0.2", "ready": false, "serving": true, "terminating": true]]])
        try await waitUntil("ready and terminating") { s.changes.last == ["10.0.0.3:4317", "10.0.0.4:4317"] }
        #expect(s.resolver.endpoints == ["10.0.0.3:4317", "10.0.0.4:4317"])

        // A second slice of the Service merges in; the other Service's changes do nothing.
        try await s.fake.control("endpointslices", [slice("gw-b", [["ip": "10.0.1.1"], ["ip": "10.0.0.4"]]),
                                                     slice("db-a", [["ip": "10.0.9.2"]], service: "db")])
        try await waitUntil("two slices") { s.changes.last == ["10.0.0.3:4317", "10.0.0.4:4317", "10.0.1.1:4317"] }
        #expect(s.resolver.endpoints == ["10.0.0.3:4317", "10.0.0.4:4317", "10.0.1.1:4317"])
        try await s.fake.control("endpointslices/delete", ["namespace": "obs", "name": "gw-a"])
        try await waitUntil("a slice deleted") { s.changes.last == ["10.0.0.4:4317", "10.0.1.1:4317"] }
        #expect(s.resolver.endpoints == ["10.0.0.4:4317", "10.0.1.1:4317"])

        #expect(s.changes == [
            ["10.0.0.1:4317", "10.0.0.2:4317"],
            ["10.0.0.2:4317", "10.0.0.4:4317"],
            ["10.0.0.3:4317", "10.0.0.4:4317"],
            ["10.0.0.3:4317", "10.0.0.4:4317", "10.0.1.1:4317"],
            ["10.0.0.4:4317", "10.0.1.1:4317"],
        ], "one notification per change of the set, none for the other Service")
        #expect(s.resolver.version == 5)
        let stats = s.resolver.stats
        #expect(stats.changes == 5 && stats.lists == 1 && stats.failures == 0, "\(stats)")
        #expect(stats.resolutions == 5, "the list and four events of this Service: \(stats)")
        #expect(s.logs.last == "info k8s resolver gw.obs: 2 endpoints (+0 -1)")
    }

    @Test func portsAndReturnHostnames() async throws {
        let s = try await setup(K8sResolverSettings(service: "gw", ports: [4317, 14317], returnHostnames: true), slices: [
            slice("gw-a", [["ip": "10.0.0.1", "hostname": "gw-0"], ["ip": "10.0.0.2", "hostname": "gw-1"], ["ip": "10.0.0.3"]]),
        ])
        defer { s.fake.stop() }
        s.resolver.start()
        defer { s.resolver.stop() }
        #expect(s.resolver.waitForSync(timeoutNanos: 10_000_000_000))
        #expect(try s.resolver.resolve().get() == ["10.0.0.3:14317", "10.0.0.3:4317", "gw-0.gw.obs:14317", "gw-0.gw.obs:4317",
                                                   "gw-1.gw.obs:14317", "gw-1.gw.obs:4317"])
    }

    /// A cut watch resumes, a 410 lists again; the set stays right (a pod that left while the
    /// watch was away goes), the last set is kept in between, and failures are logged and counted.
    @Test func cutsAndGoneKeepTheSetRight() async throws {
        let s = try await setup(K8sResolverSettings(service: "gw"), slices: [slice("gw-a", [["ip": "10.0.0.1"], ["ip": "10.0.0.2"]])])
        defer { s.fake.stop() }
        s.resolver.start()
        defer { s.resolver.stop() }
        #expect(s.resolver.waitForSync(timeoutNanos: 10_000_000_000))

        try await s.fake.waitForOpenWatches()
        try await s.fake.control("cut-watches")
        #expect(s.resolver.endpoints == ["10.0.0.1:4317", "10.0.0.2:4317"], "kept while the watch is down")
        try await s.fake.control("endpointslices/endpoints", ["namespace": "obs", "name": "gw-a", "set": [["ip": "10.0.0.3"]]])
        try await waitUntil("resumed after the cut") { s.changes.last == ["10.0.0.1:4317", "10.0.0.2:4317", "10.0.0.3:4317"] }
        #expect(s.resolver.stats.lists == 1, "a cut resumes from the last version, no relist")

        // Away while a pod goes and the history is compacted: only a relist can see it.
        try await s.fake.waitForOpenWatches()
        try await s.fake.control("compact", ["cut": true])
        try await s.fake.control("endpointslices/endpoints", ["namespace": "obs", "name": "gw-a", "remove": ["10.0.0.1"]])
        try await s.fake.control("compact", ["cut": true])
        try await waitUntil("relisted") { s.changes.last == ["10.0.0.2:4317", "10.0.0.3:4317"] }
        #expect(s.resolver.stats.relistsAfterGone >= 1)
        try await s.fake.waitForOpenWatches()
        try await s.fake.control("fail-watches", ["count": 1, "style": "http"])
        try await s.fake.control("cut-watches")
        try await s.fake.control("endpointslices/endpoints", ["namespace": "obs", "name": "gw-a", "set": [["ip": "10.0.0.5"]]])
        try await waitUntil("after an HTTP 410") { s.changes.last == ["10.0.0.2:4317", "10.0.0.3:4317", "10.0.0.5:4317"] }

        let stats = s.resolver.stats
        #expect(stats.relistsAfterGone >= 2 && stats.lists == stats.relistsAfterGone + 1, "\(stats)")
        #expect(stats.failures >= 4, "two cuts and two 410s at least: \(stats)")
        let logs = s.logs
        #expect(logs.contains { $0.hasPrefix("warn k8s resolver gw.obs: Kubernetes API watch /apis/discovery.k8s.io/v1/namespaces/obs/endpointslices: ") && $0.hasSuffix("; retrying (keeping the 2 endpoints found)") }, "\(logs)")
        #expect(logs.contains { $0.hasPrefix("info k8s resolver gw.obs: ") && $0.contains("too old resource version") && $0.hasSuffix("; listing again (keeping the 3 endpoints found meanwhile)") }, "\(logs)")
        #expect(s.changes.last == ["10.0.0.2:4317", "10.0.0.3:4317", "10.0.0.5:4317"])
        #expect(!s.changes.contains([]), "never emptied by a failure")
    }

    /// The API server refusing us (a revoked token: 401) keeps the set; once it answers again
    /// the watch resumes and catches up.
    @Test func apiErrorsKeepTheLastSet() async throws {
        let s = try await setup(K8sResolverSettings(service: "gw"), slices: [slice("gw-a", [["ip": "10.0.0.1"]])])
        defer { s.fake.stop() }
        s.resolver.start()
        defer { s.resolver.stop() }
        #expect(s.resolver.waitForSync(timeoutNanos: 10_000_000_000))
        try await s.fake.waitForOpenWatches()
        try await s.fake.control("rotate-token", ["token": "revoked-t", "grace_seconds": 0])
        try await s.fake.control("cut-watches")  // the open watch was let in before; the next ones are not
        try await s.fake.control("endpointslices/endpoints", ["namespace": "obs", "name": "gw-a", "set": [["ip": "10.0.0.2"]]])
        try await waitUntil("refused twice") { s.resolver.stats.failures >= 3 }
        #expect(try s.resolver.resolve().get() == ["10.0.0.1:4317"], "the last set, while the API refuses")
        #expect(s.logs.contains("warn k8s resolver gw.obs: Kubernetes API answered 401: /apis/discovery.k8s.io/v1/namespaces/obs/endpointslices: Unauthorized; retrying (keeping the 1 endpoints found)"), "\(s.logs)")
        try await s.fake.control("rotate-token", ["token": "t", "grace_seconds": 0])  // "t" is valid again
        try await waitUntil("caught up") { s.changes.last == ["10.0.0.1:4317", "10.0.0.2:4317"] }
        #expect(s.resolver.stats.lists == 1, "the watch resumed from its version")
    }

    /// An unreachable API server: no list, so resolve() fails with the reason and nothing is notified.
    @Test func noListYetIsAnError() throws {
        let port = try FreePort.allocate()
        let client = try KubeAPIClient(KubeConnection(endpoint: .init(host: "127.0.0.1", port: port, tls: false)), timeoutNanos: 500_000_000)
        let notified = Mutex(0)
        let resolver = K8sResolver(settings: K8sResolverSettings(service: "gw"), namespace: "obs", client: client,
                                   logger: Logger { _, _ in }, backoffMillis: { _ in 20 }, onChange: { _ in notified.withLock { $0 += 1 } })
        resolver.start()
        defer { resolver.stop() }
        #expect(!resolver.waitForSync(timeoutNanos: 300_000_000))
        guard case .failure(let error) = resolver.resolve() else { Issue.record("resolved without a server"); return }
        #expect(error.description.hasPrefix("k8s resolver gw.obs: the Service's EndpointSlices are not listed yet: Kubernetes API /apis/discovery.k8s.io/v1/namespaces/obs/endpointslices: "), "\(error)")
        #expect(resolver.stats.failures >= 1 && notified.withLock { $0 } == 0 && resolver.version == 0)
    }
}
