import CollectorTesting
import Foundation
import Testing

extension E2E {
    /// The fake Kubernetes API server the enrichment tests use is checked against the official
    /// Kubernetes Python client: kubeconfig (token and client certificate over TLS) and
    /// in-cluster loading, lists with selectors and pages, watches with bookmarks, 410 after a
    /// compaction, cut watches, token rotation, and a 1,000-node / 50,000-pod cluster.
    @Suite("Fake Kubernetes API")
    struct FakeKubeAPI {
        @Test("the fake API server speaks what the official client expects")
        func selfCheck() async throws {
            let result = try await PythonClient.run(script: "fake_kube_api_selfcheck.py", timeout: .seconds(180))
            #expect(result.exitCode == 0, "\(result.stdout)\n\(result.stderr)")
            #expect(result.stdout.contains(" passed, 0 failed"), "\(result.stdout)")
        }
    }
}
