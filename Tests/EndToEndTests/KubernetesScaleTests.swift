import CollectorTesting
import Foundation
import Testing

extension E2E {
    /// A 1,000-node, 50,000-pod cluster in the fake API server: the agent asks only for its
    /// node's pods (a field selector, so the server sends 50 pods, not 50,000) and its memory
    /// is what it is on a one-node cluster with the same 50 pods.
    @Suite("Kubernetes at scale")
    struct KubernetesScale {
        struct Memory { let rss: Int; let peak: Int }

        static func memory(_ pid: Int32) throws -> Memory {
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            func kib(_ field: String) -> Int {
                let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
                return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
            }
            return Memory(rss: kib("VmRSS"), peak: kib("VmHWM"))
        }

        /// Runs an agent for `node` against a fake cluster of `nodes` x 50 pods; returns its
        /// memory once its table holds the node's 50 pods, and the fake's pod list queries.
        func agent(nodes: Int, node: String) async throws -> (Memory, [String], Int) {
            let fake = try await FakeKube(["--scale-nodes", String(nodes), "--scale-pods-per-node", "50"])
            defer { fake.stop() }
            let ports = try Ports()
            let yaml = """
                receivers:
                  otlp: {protocols: {grpc: {endpoint: 127.0.0.1:\(ports.grpc)}}}
                processors:
                  k8sattributes:
                    auth_type: kubeConfig
                    kube_config_path: \(fake.info.kubeconfig)
                    filter: {node_from_env_var: K8S_NODE_NAME}
                    wait_for_metadata: true
                    wait_for_metadata_timeout: 60s
                    extract:
                      metadata: [k8s.namespace.name, k8s.pod.name, k8s.pod.uid, k8s.deployment.name, k8s.node.name]
                      labels: [{key: app}]
                exporters:
                  nop: {}
                service:
                  telemetry: {metrics: {address: 127.0.0.1:\(ports.metrics)}}
                  pipelines:
                    traces: {receivers: [otlp], processors: [k8sattributes], exporters: [nop]}
                """
            let collector = try CollectorProcess(config: yaml, environment: ["K8S_NODE_NAME": node])
            try await collector.waitForOutput(containing: "collectord started", in: .stderr, timeout: .seconds(90))
            try await collector.waitForPort(ports.metrics)
            try await waitUntil("the node's 50 pods held", timeout: .seconds(60)) {
                (try? await scrape(ports).sum("otelcol_otelsvc_k8s_pod_table_size", labels: [:])) == 50
            }
            let memory = try Self.memory(collector.pid)
            let queries = try await fake.requests().filter { ($0["path"] as? String) == "/api/v1/pods" }
                .map { "\($0["query"] ?? "")" }
            await collector.stop(timeout: .seconds(10))
            let state = try await SimpleHTTP.get(port: fake.info.control_port, path: "/_control/state")
            let pods = (try JSONSerialization.jsonObject(with: state.body) as? [String: Any])?["pods"] as? Int ?? 0
            return (memory, queries, pods)
        }

        @Test("with a node filter, a 50,000-pod cluster costs the agent what one node does")
        func nodeScopedMemory() async throws {
            let (small, smallQueries, smallPods) = try await agent(nodes: 1, node: "node-0000")
            let (large, largeQueries, largePods) = try await agent(nodes: 1000, node: "node-0777")
            #expect(smallPods == 50 && largePods == 50_000)
            #expect(!smallQueries.isEmpty && smallQueries.allSatisfy { $0.contains("spec.nodeName=node-0000") })
            #expect(!largeQueries.isEmpty && largeQueries.allSatisfy { $0.contains("spec.nodeName=node-0777") }, "\(largeQueries)")
            // Decoding the 50,000 pods of a cluster-wide list alone would take hundreds of MiB.
            let grew = large.peak - small.peak
            print("k8s scale: 1 node peak \(small.peak) KiB rss \(small.rss) KiB; 1,000 nodes peak \(large.peak) KiB rss \(large.rss) KiB")
            #expect(grew < 4 * 1024, "peak RSS grew by \(grew) KiB: 1 node \(small.peak) KiB, 1,000 nodes \(large.peak) KiB")
        }
    }
}
