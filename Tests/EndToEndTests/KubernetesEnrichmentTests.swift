import CollectorTesting
import Foundation
import Testing

extension E2E {
    /// `k8sattributes` in a running collector against the fake API server: the official Python
    /// SDK sends from loopback aliases standing for pod IPs (OTLP/HTTP) or names its pod by
    /// resource attribute (OTLP/gRPC); container logs are tailed from a `/var/log/pods` layout.
    /// Pods are deleted and their IPs reused, the token is rotated on disk, watches are cut and
    /// compacted away, and every span lands on the right pod.
    @Suite("Kubernetes enrichment")
    struct KubernetesEnrichment {
        struct Sent: Decodable { let traceId: String; let ok: Bool }

        static func pod(_ name: String, ip: String, node: String = "node-a", owner: [String: String]) -> [String: Any] {
            ["name": name, "namespace": "shop", "node": node, "ip": ip, "uid": "uid-\(name)", "owner": owner,
             "containers": [["name": "app", "image": "registry.local/\(name):2.1", "id": "cid-\(name)"]]]
        }

        func config(_ ports: Ports, query: Int, data: String, logs: String, kubeconfig: String) -> String {
            """
            receivers:
              otlp:
                protocols:
                  grpc: {endpoint: 127.0.0.1:\(ports.grpc)}
                  http: {endpoint: 127.0.0.1:\(ports.http)}
              filelog:
                include: [\(logs)/*/*/*.log]
                start_at: beginning
                include_file_path: true
                poll_interval: 50ms
                operators: [{type: container}]
            processors:
              k8sattributes:
                auth_type: kubeConfig
                kube_config_path: \(kubeconfig)
                filter: {node_from_env_var: K8S_NODE_NAME}
                wait_for_metadata: true
                extract:
                  metadata: [k8s.namespace.name, k8s.pod.name, k8s.pod.uid, k8s.deployment.name, k8s.statefulset.name,
                             k8s.node.name, container.id, container.image.name, container.image.tag, k8s.cluster.uid]
                  labels: [{tag_name: tier, key: tier, from: namespace}]
                pod_association:
                  - sources: [{from: resource_attribute, name: k8s.pod.ip}]
                  - sources: [{from: resource_attribute, name: k8s.pod.uid}]
                  - sources: [{from: connection}]
              batch: {timeout: 20ms}
            exporters:
              store: {directory: \(data)}
              debug: {verbosity: detailed}
            extensions:
              query: {endpoint: 127.0.0.1:\(query)}
            service:
              extensions: [query]
              telemetry: {metrics: {address: 127.0.0.1:\(ports.metrics)}}
              pipelines:
                traces: {receivers: [otlp], processors: [batch, k8sattributes], exporters: [store]}
                logs: {receivers: [otlp, filelog], processors: [k8sattributes, batch], exporters: [debug]}
            """
        }

        /// Sends one span (and log) from `source` over OTLP/HTTP, or over gRPC with `resource`
        /// attributes, and returns the stored trace's process tags.
        func send(_ ports: Ports, query: Int, from source: String? = nil, grpc: Bool = false, resource: [String] = [],
                  log: String? = nil) async throws -> [String: String] {
            var args = grpc ? ["--protocol", "grpc", "--endpoint", ports.grpcEndpoint] : ["--endpoint", ports.httpEndpoint]
            if let source { args += ["--source-ip", source] }
            for r in resource { args += ["--resource", r] }
            if let log { args += ["--log", log] }
            let result = try await PythonClient.run(script: "send_from_pod.py", args: args + ["--service", "shop-app", "--name", "GET /"])
            #expect(result.exitCode == 0, "\(result.stderr)")
            let sent = try JSONDecoder().decode(Sent.self, from: Data(result.stdout.utf8))
            for _ in 0..<200 {
                let r = try await SimpleHTTP.get(port: query, path: "/api/traces/\(sent.traceId)")
                if r.status == 200, let body = try JSONSerialization.jsonObject(with: r.body) as? [String: Any],
                   let trace = (body["data"] as? [[String: Any]])?.first,
                   let process = (trace["processes"] as? [String: [String: Any]])?.values.first {
                    var tags: [String: String] = [:]
                    for tag in process["tags"] as? [[String: Any]] ?? [] {
                        if let key = tag["key"] as? String, key.hasPrefix("k8s.") || key.hasPrefix("container.") || key == "tier" {
                            tags[key] = "\(tag["value"] ?? "")"
                        }
                    }
                    return tags
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("trace \(sent.traceId) never stored")
            return [:]
        }

        /// Each printed log resource's attributes (detailed debug output), in order.
        static func printedResources(_ text: String) -> [[String: String]] {
            text.components(separatedBy: "ResourceLogs #").dropFirst().map { block in
                var attrs: [String: String] = [:]
                let part = block.components(separatedBy: "ScopeLogs #").first ?? block
                for line in part.split(separator: "\n") {
                    guard let arrow = line.range(of: "-> "), let colon = line.range(of: ": ", range: arrow.upperBound..<line.endIndex) else { continue }
                    let key = line[arrow.upperBound..<colon.lowerBound].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                    var value = String(line[colon.upperBound...])
                    if value.hasPrefix("Str("), value.hasSuffix(")") { value = String(value.dropFirst(4).dropLast()) }
                    attrs[key] = value.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                }
                return attrs
            }
        }

        @Test("spans and logs carry their pod's metadata through deletes, reused IPs, token rotation and relists")
        func enrichment() async throws {
            let fake = try await FakeKube(["--tls", "--token", "first", "--bookmark-interval", "1"])
            defer { fake.stop() }
            try await fake.control("namespaces", [["name": "shop", "labels": ["tier": "gold"]]])
            try await fake.control("pods", [
                Self.pod("web-1", ip: "127.0.0.7", owner: ["kind": "Deployment", "name": "web", "hash": "6f9c"]),
                Self.pod("api-0", ip: "127.0.0.8", owner: ["kind": "StatefulSet", "name": "api"]),
                Self.pod("far-0", ip: "127.0.0.9", node: "node-b", owner: ["kind": "StatefulSet", "name": "far"]),
            ])
            let cluster = try #require(fake.info.cluster_uid)
            let work = try TemporaryDirectory(prefix: "k8s-e2e")
            let sa = fake.info.serviceaccount_dir
            // A kubeconfig whose token is a file (re-read on every request, so a rotation applies).
            let kubeconfig = work.file("kubeconfig").path
            let server = "https://127.0.0.1:\(fake.info.port)"
            try """
            apiVersion: v1
            kind: Config
            clusters: [{name: fake, cluster: {server: "\(server)", certificate-authority: \(sa)/ca.crt}}]
            users: [{name: agent, user: {tokenFile: \(sa)/token}}]
            contexts: [{name: fake, context: {cluster: fake, user: agent}}]
            current-context: fake
            """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
            let logs = work.file("var/log/pods").path
            let podDir = "\(logs)/shop_web-1_uid-web-1/app"
            try FileManager.default.createDirectory(atPath: podDir, withIntermediateDirectories: true)
            try "2026-12-01T10:00:00.000000001Z stdout F checkout started\n2026-12-01T10:00:00.000000002Z stderr F warm cache\n"
                .write(toFile: podDir + "/0.log", atomically: true, encoding: .utf8)

            let ports = try Ports()
            let query = try FreePort.allocate(count: 1)[0]
            let collector = try CollectorProcess(config: config(ports, query: query, data: work.file("data").path, logs: logs,
                                                                kubeconfig: kubeconfig),
                                                 environment: ["K8S_NODE_NAME": "node-a"])
            try await collector.waitForOutput(containing: "collectord started", in: .stderr)
            try await collector.waitForPort(query)

            let web1 = ["k8s.namespace.name": "shop", "k8s.pod.name": "web-1", "k8s.pod.uid": "uid-web-1",
                        "k8s.deployment.name": "web", "k8s.node.name": "node-a", "k8s.pod.ip": "127.0.0.7",
                        "k8s.cluster.uid": cluster, "tier": "gold", "container.id": "cid-web-1",
                        "container.image.name": "registry.local/web-1", "container.image.tag": "2.1"]
            // By connection, after the batch processor (each resource keeps its client's address);
            // the pod's only container gives the container attributes.
            #expect(try await send(ports, query: query, from: "127.0.0.7") == web1)
            // By resource attribute over gRPC.
            #expect(try await send(ports, query: query, grpc: true, resource: ["k8s.pod.ip=127.0.0.8"]) == [
                "k8s.namespace.name": "shop", "k8s.pod.name": "api-0", "k8s.pod.uid": "uid-api-0", "k8s.statefulset.name": "api",
                "k8s.node.name": "node-a", "k8s.pod.ip": "127.0.0.8", "k8s.cluster.uid": cluster, "tier": "gold",
                "container.id": "cid-api-0", "container.image.name": "registry.local/api-0", "container.image.tag": "2.1"])
            // Another node's pod is not known here: nothing is added.
            #expect(try await send(ports, query: query, from: "127.0.0.9") == [:])
            let lists = try await fake.requests().filter { ($0["path"] as? String) == "/api/v1/pods" }
            #expect(!lists.isEmpty && lists.allSatisfy { "\($0["query"] ?? "")".contains("spec.nodeName=node-a") }, "\(lists)")

            // Container logs by their path, and an SDK log by its connection.
            _ = try await send(ports, query: query, from: "127.0.0.8", log: "order placed")
            try await waitUntil("logs printed") { Self.printedResources(collector.stdoutText).count >= 2 }
            let printed = Self.printedResources(collector.stdoutText)
            let fileLogs = try #require(printed.first { $0["k8s.pod.uid"] == "uid-web-1" }, "\(printed)")
            #expect(fileLogs["k8s.deployment.name"] == "web")
            #expect(fileLogs["container.id"] == "cid-web-1")
            #expect(fileLogs["container.image.name"] == "registry.local/web-1")
            #expect(fileLogs["container.image.tag"] == "2.1")
            #expect(fileLogs["k8s.container.name"] == "app")
            let sdkLog = try #require(printed.first { $0["service.name"] == "shop-app" })
            #expect(sdkLog["k8s.pod.name"] == "api-0")

            // web-1 deleted and its IP given to web-2: spans from the IP are web-2's once the
            // watch delivers it (until then, web-1's: it is still within its grace).
            try await fake.control("pods/delete", ["namespace": "shop", "name": "web-1"])
            try await fake.control("pods", [Self.pod("web-2", ip: "127.0.0.7", owner: ["kind": "Deployment", "name": "web", "hash": "6f9c"])])
            var seen = ""
            for _ in 0..<40 {
                seen = try await send(ports, query: query, from: "127.0.0.7")["k8s.pod.name"] ?? ""
                #expect(seen == "web-1" || seen == "web-2")
                if seen == "web-2" { break }
            }
            #expect(seen == "web-2")

            // The token rotated on disk (the old one refused at once), then the watch cut: the
            // new watch authenticates with the new token.
            try await fake.control("rotate-token", ["token": "second", "grace_seconds": 0])
            try await fake.control("cut-watches")
            try await fake.control("pods", [Self.pod("late-0", ip: "127.0.0.10", owner: ["kind": "StatefulSet", "name": "late"])])
            try await waitUntil("late-0 seen", timeout: .seconds(20)) {
                (try? await send(ports, query: query, from: "127.0.0.10")["k8s.pod.name"]) == "late-0"
            }
            let users = try await fake.requests().compactMap { $0["user"] as? String }
            #expect(users.contains("rotated-1"), "\(users)")

            // Away while api-0 is replaced and the history is compacted: a 410, a relist, and
            // the IP maps to the new pod.
            try await fake.control("cut-watches")
            try await fake.control("compact", ["cut": true])
            try await fake.control("pods/delete", ["namespace": "shop", "name": "api-0"])
            try await fake.control("pods", [Self.pod("api-1", ip: "127.0.0.8", owner: ["kind": "StatefulSet", "name": "api"])])
            try await fake.control("compact", ["cut": true])
            try await waitUntil("api-1 seen", timeout: .seconds(20)) {
                (try? await send(ports, query: query, grpc: true, resource: ["k8s.pod.ip=127.0.0.8"])["k8s.pod.name"]) == "api-1"
            }
            let m = try await scrape(ports)
            #expect(m.sum("collectord_k8s_watch_relists_after_gone_total", labels: ["resource": "pods"]) >= 1)
            #expect(m.sum("otelcol_otelsvc_k8s_pod_table_size", labels: [:]) == 5, "web-1 and api-0 are held for their grace")
            #expect(m.sum("otelcol_otelsvc_k8s_pod_added_total", labels: [:]) >= 5)
            await collector.stop(timeout: .seconds(10))
        }
    }
}
