import CollectorTesting
import Foundation
import Glibc
import OTLPCodec
import Store
import Testing

extension E2E {
    /// Agents forwarding to gateways with the `loadbalancing` exporter (issue 10): gateways on
    /// 127.0.0.2, .3, .4 (one port for all, as a headless Service's pods), agents with the static
    /// resolver and with the DNS resolver (the DNS name `gateways.test` from a hosts file bound
    /// over /etc/hosts in the agent's own mount namespace), the real Python SDK sending each
    /// trace's spans through both agents.
    @Suite("Gateway tier")
    struct GatewayTier {
        struct Gateway {
            var ip: String
            var process: CollectorProcess
            var data: String
        }

        let grpcPort: Int
        let queryPort: Int
        let metricsPort: Int
        let work: TemporaryDirectory

        init() throws {
            let ports = try FreePort.allocate(count: 3)
            (grpcPort, queryPort, metricsPort) = (ports[0], ports[1], ports[2])
            work = try TemporaryDirectory(prefix: "gateway-tier")
        }

        func gatewayConfig(_ ip: String, data: String, peers: [String]) -> String {
            """
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: \(ip):\(grpcPort)
            exporters:
              store:
                directory: \(data)
                sync: interval
            extensions:
              query:
                endpoint: \(ip):\(queryPort)
                peers:
                  static: {endpoints: [\(peers.map { "\"\($0):\(queryPort)\"" }.joined(separator: ", "))]}
                  timeout: 5s
            service:
              extensions: [query]
              telemetry:
                metrics:
                  address: \(ip):\(metricsPort)
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [store]
            """
        }

        func agentConfig(_ ports: Ports, resolver: String, queue: String, peers: [String]) -> String {
            """
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 127.0.0.1:\(ports.grpc)
                  http:
                    endpoint: 127.0.0.1:\(ports.http)
            processors:
              batch:
                timeout: 20ms
            exporters:
              loadbalancing:
                routing_key: traceID
                protocol:
                  otlp:
                    tls: {insecure: true}
                    timeout: 2s
                resolver:
            \(resolver)
                retry_on_failure: {initial_interval: 50ms, max_interval: 300ms}
                sending_queue:
                  storage: \(queue)
            extensions:
              query:
                endpoint: 127.0.0.1:\(ports.health)
                peers:
                  static: {endpoints: [\(peers.map { "\"\($0):\(queryPort)\"" }.joined(separator: ", "))]}
            service:
              extensions: [query]
              telemetry:
                metrics:
                  address: 127.0.0.1:\(ports.metrics)
              pipelines:
                traces:
                  receivers: [otlp]
                  processors: [batch]
                  exporters: [loadbalancing]
            """
        }

        func startGateway(_ ip: String, peers: [String]) async throws -> Gateway {
            let data = work.file("store-\(ip)").path
            let process = try CollectorProcess(config: gatewayConfig(ip, data: data, peers: peers.filter { $0 != ip }),
                                               workDirectory: work.file("gw-\(ip)"))
            try await process.waitForOutput(containing: "collectord started", in: .stderr)
            try await process.waitForPort(grpcPort, host: ip)
            return Gateway(ip: ip, process: process, data: data)
        }

        /// An agent whose /etc/hosts is `hosts` (its own mount namespace), so `gateways.test`
        /// resolves to the gateways listed there.
        func startAgent(_ ports: Ports, resolver: String, name: String, peers: [String], hosts: String? = nil) async throws -> CollectorProcess {
            let config = agentConfig(ports, resolver: resolver, queue: work.file("queue-\(name)").path, peers: peers)
            let agent: CollectorProcess
            if let hosts {
                agent = try CollectorProcess(config: config, binary: URL(fileURLWithPath: "/usr/bin/unshare"),
                                             arguments: ["--mount", "/bin/sh", "-c", "mount --bind \(hosts) /etc/hosts && exec \"$0\" \"$@\"",
                                                         try RepoPaths.requireCollectord().path],
                                             workDirectory: work.file("agent-\(name)"))
            } else {
                agent = try CollectorProcess(config: config, workDirectory: work.file("agent-\(name)"))
            }
            try await agent.waitForOutput(containing: "collectord started", in: .stderr)
            try await agent.waitForPort(ports.grpc)
            return agent
        }

        /// Rewrites the hosts file in place (the agents' bind mounts see the same file).
        func writeHosts(_ path: String, gateways: [String]) throws {
            let text = "127.0.0.1 localhost\n" + gateways.map { "\($0) gateways.test\n" }.joined()
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: Data(text.utf8))
            try handle.close()
        }

        struct Sent {
            var acked: [(trace: String, span: String)] = []
            var unacked = 0
            var traces: Set<String> = []
        }

        func send(_ a: Ports, _ b: Ports, count: Int, interval: Double = 0, seed: Int) throws -> ManagedProcess {
            try PythonClient.start(script: "two_agent_traces.py", args: [
                "--grpc", "http://127.0.0.1:\(a.grpc)", "--http", "http://127.0.0.1:\(b.http)", "--count", "\(count)",
                "--interval", "\(interval)", "--seed", "\(seed)", "--timeout", "60"])
        }

        func result(_ client: ManagedProcess) async throws -> Sent {
            let report = try (try await client.result(timeout: .seconds(240))).jsonObject()
            var sent = Sent()
            for span in report["spans"] as? [[String: Any]] ?? [] {
                let trace = span["traceId"] as? String ?? "", id = span["spanId"] as? String ?? ""
                sent.traces.insert(trace)
                if span["acked"] as? Bool == true { sent.acked.append((trace, id)) } else { sent.unacked += 1 }
            }
            return sent
        }

        func waitForDrained(_ agents: [Ports]) async throws {
            try await waitUntil("the agents' disk queues are empty", timeout: .seconds(120)) {
                for ports in agents {
                    let m = try await SimpleHTTP.metrics(port: ports.metrics)
                    guard m.matching("collectord_exporter_disk_queue_batches", labels: ["exporter": "loadbalancing"]).count == 2,
                          m.sum("collectord_exporter_disk_queue_batches", labels: ["exporter": "loadbalancing"]) == 0 else { return false }
                }
                return true
            }
        }

        /// Which gateway holds which spans: trace -> gateway ip -> span ids.
        func holdings(_ gateways: [Gateway]) throws -> [String: [String: Set<String>]] {
            var out: [String: [String: Set<String>]] = [:]
            for gateway in gateways {
                let store = try TraceStore(config: StoreConfig(directory: gateway.data))
                defer { store.close() }
                for summary in store.search(limit: 0) {
                    guard let trace = store.trace(summary.traceID) else { continue }
                    out[summary.traceID.hex, default: [:]][gateway.ip] = Set(try OTLPScanner.spans(trace.spans).spans.map {
                        String(format: "%016llx", $0.spanID)
                    })
                }
            }
            return out
        }

        /// The reference ring's prediction for each trace (clients/lb_ring_reference.py).
        func predictions(_ traces: Set<String>, gateways: [String]) async throws -> [String: String] {
            let file = work.file("ids.txt")
            try Data(traces.sorted().joined(separator: "\n").utf8).write(to: file)
            let result = try await PythonClient.run(script: "lb_ring_reference.py",
                                                    args: gateways.flatMap { ["--endpoint", "\($0):\(grpcPort)"] } + ["--ids", file.path])
            #expect(result.exitCode == 0, "\(result.stderr)")
            return try result.jsonObject() as? [String: String] ?? [:]
        }

        @Test("2,000 traces through two agents (static and DNS resolvers): each whole on the gateway the reference ring predicts; any node answers for it")
        func tracesLandWholeWhereTheRingSays() async throws {
            let ips = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
            var gateways: [Gateway] = []
            for ip in ips { gateways.append(try await startGateway(ip, peers: ips)) }
            let hosts = work.file("hosts").path
            FileManager.default.createFile(atPath: hosts, contents: nil)
            try writeHosts(hosts, gateways: ips)
            let (portsA, portsB) = (try Ports(), try Ports())
            let staticAgent = try await startAgent(portsA, resolver: "          static: {hostnames: [\(ips.map { "\"\($0):\(grpcPort)\"" }.joined(separator: ", "))]}",
                                                   name: "static", peers: ips)
            let dnsAgent = try await startAgent(portsB, resolver: "          dns: {hostname: gateways.test, port: \(grpcPort), interval: 1s}",
                                                name: "dns", peers: ips, hosts: hosts)
            let sent = try await result(try send(portsA, portsB, count: 2_000, seed: 11))
            #expect(sent.traces.count == 2_000 && sent.unacked == 0 && sent.acked.count == 6_000)
            try await waitForDrained([portsA, portsB])

            // Any node answers for a trace, whole: a gateway that does not hold it and an agent
            // that stores nothing, through their peers (Jaeger API and collectorctl).
            let sample = Array(sent.traces.sorted().prefix(10))
            for (index, trace) in sample.enumerated() {
                let port = index % 2 == 0 ? portsA.health : queryPort
                let host = index % 2 == 0 ? "127.0.0.1" : ips[index % 3]
                let answer = try await SimpleHTTP.get(host: host, port: port, path: "/api/traces/\(trace)",
                                                      headers: ["Accept": "application/protobuf"], timeout: .seconds(20))
                #expect(answer.status == 200 && answer.header("x-partial-result") == nil)
                #expect(try OTLPScanner.spans(Array(answer.body)).spans.count == 3, "trace \(trace) through \(host):\(port)")
            }
            let ctl = RepoPaths.collectord.deletingLastPathComponent().appendingPathComponent("collectorctl")
            let tree = try await CommandRunner.run(ctl, arguments: ["trace", sample[0], "--endpoint", "http://127.0.0.1:\(portsB.health)"])
            #expect(tree.exitCode == 0, "\(tree.stderr)")
            #expect(["GET /orders/", "reserve", "SELECT stock"].allSatisfy { tree.stdout.contains($0) }, "\(tree.stdout)")

            #expect(await staticAgent.stop() == 0)
            #expect(await dnsAgent.stop() == 0)
            for gateway in gateways { #expect(await gateway.process.stop() == 0, "\(gateway.process.outputTail())") }
            let held = try holdings(gateways)
            let predicted = try await predictions(sent.traces, gateways: ips)
            var wrong = 0, split = 0, incomplete = 0
            for trace in sent.traces {
                let where_ = held[trace] ?? [:]
                if where_.count != 1 { split += 1; continue }
                let (ip, spans) = where_.first!
                if "\(ip):\(grpcPort)" != predicted[trace] { wrong += 1 }
                if spans.count != 3 { incomplete += 1 }
            }
            #expect(split == 0 && wrong == 0 && incomplete == 0, "split \(split), on another gateway than predicted \(wrong), incomplete \(incomplete)")
            let perGateway = ips.map { ip in held.values.filter { $0[ip] != nil }.count }
            #expect(perGateway.allSatisfy { $0 > 400 }, "traces per gateway: \(perGateway)")
            print("gateway tier: 2000 traces, per gateway \(perGateway), split \(split), misrouted \(wrong)")
        }

        @Test("a gateway killed with -9 and another added while clients send: no acknowledged span lost, few traces split")
        func gatewayChangesLoseNothing() async throws {
            let ips = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
            let all = ips + ["127.0.0.5"]
            var gateways: [Gateway] = []
            for ip in ips { gateways.append(try await startGateway(ip, peers: all)) }
            let hosts = work.file("hosts").path
            FileManager.default.createFile(atPath: hosts, contents: nil)
            try writeHosts(hosts, gateways: ips)
            let (portsA, portsB) = (try Ports(), try Ports())
            let resolver = "          dns: {hostname: gateways.test, port: \(grpcPort), interval: 1s}"
            let agentA = try await startAgent(portsA, resolver: resolver, name: "a", peers: all, hosts: hosts)
            let agentB = try await startAgent(portsB, resolver: resolver, name: "b", peers: all, hosts: hosts)
            let client = try send(portsA, portsB, count: 600, interval: 0.01, seed: 12)
            try await Task.sleep(for: .seconds(2))
            // Mid-stream: 127.0.0.3 dies (kill -9) and 127.0.0.5 joins; the DNS answer follows.
            gateways[1].process.signal(SIGKILL)
            _ = try await gateways[1].process.waitForExit(timeout: .seconds(10))
            gateways.append(try await startGateway("127.0.0.5", peers: all))
            try writeHosts(hosts, gateways: ["127.0.0.2", "127.0.0.4", "127.0.0.5"])
            let sent = try await result(client)
            try await waitForDrained([portsA, portsB])
            let rerouted = try await SimpleHTTP.metrics(port: portsA.metrics).sum("collectord_loadbalancer_rerouted_items_total")
                + (try await SimpleHTTP.metrics(port: portsB.metrics).sum("collectord_loadbalancer_rerouted_items_total"))
            #expect(await agentA.stop() == 0)
            #expect(await agentB.stop() == 0)
            for gateway in gateways where gateway.ip != "127.0.0.3" { #expect(await gateway.process.stop() == 0) }
            // The killed gateway's store is read from its disk: what it acknowledged is there.
            let held = try holdings(gateways)
            var missing: [String] = []
            for (trace, span) in sent.acked where held[trace]?.values.contains(where: { $0.contains(span) }) != true {
                missing.append("\(trace)/\(span)")
            }
            let split = sent.traces.filter { (held[$0]?.count ?? 0) > 1 }.count
            #expect(sent.acked.count >= 1_500, "\(sent.acked.count) acknowledged, \(sent.unacked) not")
            #expect(missing.isEmpty, "\(missing.count) acknowledged spans lost: \(missing.prefix(5))")
            // Only traces in flight around the change may be split: those the dead gateway had
            // begun and whose later spans went to the new owner (bounded: well under a quarter).
            #expect(split < 150, "\(split) of 600 traces split")
            print("gateway change: \(sent.acked.count) spans acknowledged, 0 lost, \(split) traces split, \(Int(rerouted)) spans re-routed")
        }
    }
}
