import CollectorTesting
import Foundation
import Glibc
import OTLPCodec
import Testing

extension E2E {
    /// The collector tried as an attacker would (issue 11), each attack from `clients/attacks.py`
    /// against a real collectord: it stays alive, within memory, and a legitimate client's
    /// export still goes through while the attack is on. (Descriptor exhaustion is the
    /// "Descriptor limit" suite.)
    @Suite("Attacks")
    struct Attacks {
        static func config(_ ports: Ports, storeDirectory: String? = nil, maxBlocks: Int = 20_000) -> String {
            let exporters = storeDirectory == nil ? "[debug]" : "[store]"
            let store = storeDirectory.map { "  store:\n    directory: \($0)\n    sync: none\n" } ?? ""
            let query = storeDirectory == nil ? "" : """
                extensions:
                  query:
                    endpoint: 127.0.0.1:\(ports.health)
                    max_blocks_per_query: \(maxBlocks)

                """
            return """
                receivers:
                  otlp:
                    protocols:
                      grpc:
                        endpoint: 127.0.0.1:\(ports.grpc)
                      http:
                        endpoint: 127.0.0.1:\(ports.http)
                        read_header_timeout: 3s
                        read_timeout: 30s
                exporters:
                  debug:
                    verbosity: basic
                \(store)\(query)service:
                  \(storeDirectory == nil ? "" : "extensions: [query]")
                  limits:
                    request_memory_limit_mib: 64
                  telemetry:
                    metrics:
                      address: 127.0.0.1:\(ports.metrics)
                  pipelines:
                    traces:
                      receivers: [otlp]
                      exporters: \(exporters)

                """
        }

        static func start(_ yaml: String, ports: Ports) async throws -> CollectorProcess {
            let collector = try CollectorProcess(config: yaml, extraArguments: ["--shutdown-timeout", "5s"])
            try await collector.waitForOutput(containing: "collectord started", in: .stderr)
            for port in [ports.grpc, ports.http, ports.metrics] { try await collector.waitForPort(port) }
            return collector
        }

        /// VmRSS / VmHWM of a process, in MiB.
        static func memory(_ pid: Int32) -> (rss: Double, peak: Double) {
            let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            func field(_ name: String) -> Double {
                guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
                      let kib = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
                else { return -1 }
                return kib / 1024
            }
            return (field("VmRSS"), field("VmHWM"))
        }

        static func attack(_ args: [String]) async throws -> [String: Any] {
            let result = try await PythonClient.run(script: "attacks.py", args: args, timeout: .seconds(120))
            #expect(result.exitCode == 0, "attacks.py \(args): \(result.stderr)")
            return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
        }

        @Test("slowloris and half-sent bodies (HTTP/1.1 and 200 h2 streams): bounded, refused, timed out; a client still exports")
        func slowAndHalfSentRequests() async throws {
            let ports = try Ports()
            let collector = try await Self.start(Self.config(ports), ports: ports)
            let before = Self.memory(collector.pid)
            async let slow = Self.attack(["slowloris", "--port", "\(ports.http)", "--connections", "200", "--seconds", "15"])
            async let h1 = Self.attack(["h1-half", "--port", "\(ports.http)", "--connections", "25", "--mib", "19", "--seconds", "6"])
            async let h2 = Self.attack(["h2-half", "--port", "\(ports.grpc)", "--connections", "2", "--streams", "100",
                                        "--kib", "1024", "--seconds", "6"])
            // While the attacks hold what they can: an SDK export over each protocol succeeds.
            try await Task.sleep(for: .seconds(2))
            _ = try await runSDK(protocol: "grpc", ports: ports, timeout: .seconds(30))
            _ = try await runSDK(protocol: "http", ports: ports, timeout: .seconds(30))
            let (slowReport, h1Report, h2Report) = try await (slow, h1, h2)
            let after = Self.memory(collector.pid)

            // Slowloris: every connection closed by the 3 s header timeout, although bytes kept coming.
            #expect(slowReport["closed"] as? Int == 200, "\(slowReport)")
            #expect((slowReport["last_closed_s"] as? Double ?? 99) < 10, "\(slowReport)")
            // 25 bodies of 19 MiB and 200 h2 streams of 1 MiB (at most 32 MiB a connection) share
            // the 64 MiB budget (plus the eighth of headroom the first 256 KiB of a request may
            // use): what is held fits it, every other request is answered busy.
            let answers = h1Report["answers"] as? [String: Int] ?? [:]
            let h1Held = h1Report["open"] as? Int ?? -1
            let h1Refused = answers["HTTP/1.1 503 Service Unavailable"] ?? -1
            #expect(h1Held + h1Refused == 25 && h1Held <= 3, "\(h1Report)")
            let outcomes = h2Report["outcomes"] as? [String: Int] ?? [:]
            let h2Held = outcomes["open, sent all"] ?? 0
            let h2Refused = outcomes["grpc-status 14"] ?? -1
            #expect(h2Held + h2Refused == 200 && h2Held <= 64, "\(h2Report)")
            #expect(19 * h1Held + h2Held <= 72, "held: \(h1Held) x 19 MiB + \(h2Held) x 1 MiB")
            // Memory: bounded by the budget (64 MiB), not by what was sent (475 MiB + 200 MiB).
            #expect(after.peak - before.rss < 160, "RSS \(before.rss) MiB -> peak \(after.peak) MiB")
            #expect(kill(collector.pid, 0) == 0, "collectord died:\n\(collector.outputTail())")

            let m = try await scrape(ports)
            #expect(m.sum("collectord_server_request_read_timeouts_total", labels: [:]) >= 200)
            #expect(m.sum("collectord_server_requests_refused_busy_total", labels: [:]) == Double(h1Refused + h2Refused))
            #expect(m.sum("collectord_server_request_bytes", labels: [:]) == 0, "every reservation given back")
            await expectCleanLogAndStop(collector)
        }

        /// One trace id sent in 2,000 requests (2,000 blocks), the case that took 7 s: with a
        /// bound of 1,000 blocks a query answers partial, marked, with 1,000 spans; with the
        /// bound raised by a reload, the whole trace. A small trace is answered meanwhile.
        @Test("a trace in 2,000 blocks: the block bound answers partial, marked; a larger bound the whole trace")
        func traceInManyBlocks() async throws {
            let ports = try Ports()
            let store = try TemporaryDirectory(prefix: "attack-store")
            let collector = try await Self.start(Self.config(ports, storeDirectory: store.url.path, maxBlocks: 1_000), ports: ports)
            try await collector.waitForPort(ports.health)
            let hot = traceID(42)
            for i in 0..<2_000 {
                let span = TestSpan(traceID: hot, spanID: spanID(i + 1), name: "hit \(i)", start: 1_000 + UInt64(i), end: 5_000)
                let other = TestSpan(traceID: traceID(10_000 + i), spanID: spanID(100_000 + i), name: "other", start: 1_000, end: 2_000)
                let body = OTLPBuild.traces([TestResource(service: "svc", items: [other, span])])
                let response = try await SimpleHTTP.post(port: ports.http, path: "/v1/traces", body: Data(body))
                #expect(response.status == 200)
            }
            let path = "/api/traces/" + OTLPTraceID(bytes: hot)!.hex
            let partial = try await SimpleHTTP.get(port: ports.health, path: path, headers: ["Accept": "application/protobuf"],
                                                   timeout: .seconds(30))
            #expect(partial.status == 200)
            #expect(partial.header("x-partial-result") == "the bound on blocks read was reached")
            #expect(try OTLPScanner.spans(Array(partial.body)).spans.count == 1_000, "one span of the trace per block read")
            let small = try await SimpleHTTP.get(port: ports.health, path: "/api/v2/traces/" + OTLPTraceID(bytes: traceID(10_007))!.hex)
            #expect(small.status == 200 && small.header("x-partial-result") == nil)

            let mark = try collector.reload(config: Self.config(ports, storeDirectory: store.url.path, maxBlocks: 20_000))
            try await collector.waitForOutput(containing: "configuration reloaded", in: .stderr, since: mark)
            try await collector.waitForPort(ports.health)
            let whole = try await SimpleHTTP.get(port: ports.health, path: path,
                                                 headers: ["Accept": "application/protobuf"], timeout: .seconds(30))
            #expect(whole.status == 200 && whole.header("x-partial-result") == nil)
            #expect(try OTLPScanner.spans(Array(whole.body)).spans.count == 2_000)
            let m = try await scrape(ports)
            #expect(m.sum("collectord_query_partial_total", labels: ["reason": "blocks"]) == 1)
            await collector.stop(timeout: .seconds(10))
        }

        @Test("a billion-laughs config: refused at once by validate, in little memory")
        func aliasBomb() async throws {
            let collectord = try RepoPaths.requireCollectord()
            let report = try await Self.attack(["validate-bomb", "--collectord", collectord.path])
            #expect(report["exit_code"] as? Int == 1, "\(report)")
            let errors = report["stderr_head"] as? String ?? ""
            #expect(errors.hasPrefix("invalid configuration") && errors.contains("alias"), "\(report)")
            #expect((report["max_rss_kib"] as? Int ?? .max) < 100 * 1024, "\(report)")
        }
    }
}
