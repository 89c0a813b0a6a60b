import CollectorTesting
import Foundation
import OTLPCodec
import Testing

extension E2E {
    /// A trace across three services, each sent by its own SDK process with its logs, stored by
    /// the `store` exporter and read back through the `query` extension (Jaeger and Tempo APIs)
    /// and `collectorctl`.
    @Suite("Query")
    struct Query {
        struct Service: Decodable {
            let traceId: String
            let spanId: String
            let traceparent: String
            let ok: Bool
        }

        func config(grpc: Int, query: Int, metrics: Int, data: String) -> String {
            """
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 127.0.0.1:\(grpc)
            processors:
              batch:
                timeout: 20ms
            exporters:
              store:
                directory: \(data)
            extensions:
              query:
                endpoint: 127.0.0.1:\(query)
            service:
              extensions: [query]
              telemetry:
                metrics:
                  address: 127.0.0.1:\(metrics)
              pipelines:
                traces:
                  receivers: [otlp]
                  processors: [batch]
                  exporters: [store]
                logs:
                  receivers: [otlp]
                  processors: [batch]
                  exporters: [store]
            """
        }

        func send(_ ports: [Int], _ args: [String]) async throws -> Service {
            let result = try await PythonClient.run(script: "send_service_span.py",
                                                    args: ["--endpoint", "http://127.0.0.1:\(ports[0])"] + args)
            #expect(result.exitCode == 0, "\(result.stderr)")
            return try JSONDecoder().decode(Service.self, from: Data(result.stdout.utf8))
        }

        func json(_ port: Int, _ path: String, accept: String? = nil) async throws -> (Int, [String: Any]) {
            let r = try await SimpleHTTP.get(port: port, path: path, headers: accept.map { ["Accept": $0] } ?? [:])
            let object = try JSONSerialization.jsonObject(with: r.body) as? [String: Any] ?? [:]
            return (r.status, object)
        }

        @Test("a trace from three processes comes back whole with its logs (Jaeger, Tempo, collectorctl)")
        func threeServiceTrace() async throws {
            let ports = try FreePort.allocate(count: 3)  // grpc, query, metrics
            let work = try TemporaryDirectory(prefix: "query-e2e")
            let collector = try CollectorProcess(
                config: config(grpc: ports[0], query: ports[1], metrics: ports[2], data: work.file("data").path))
            try await collector.waitForOutput(containing: "collectord started", in: .stderr)
            try await collector.waitForPort(ports[1])

            let front = try await send(ports, ["--service", "frontend", "--name", "GET /checkout", "--log", "checkout started"])
            let checkout = try await send(ports, ["--service", "checkout", "--name", "POST /orders",
                                                  "--traceparent", front.traceparent, "--log", "order created"])
            let payment = try await send(ports, ["--service", "payment", "--name", "POST /charge",
                                                 "--traceparent", checkout.traceparent, "--error", "card declined",
                                                 "--log", "charging card"])
            #expect(Set([front.traceId, checkout.traceId, payment.traceId]).count == 1)
            let id = front.traceId

            // Jaeger: the whole trace, one process per service, parent links, the error tag.
            let (status, body) = try await json(ports[1], "/api/traces/\(id)")
            #expect(status == 200)
            let trace = try #require((body["data"] as? [[String: Any]])?.first)
            #expect(trace["traceID"] as? String == id)
            let spans = try #require(trace["spans"] as? [[String: Any]])
            let processes = try #require(trace["processes"] as? [String: [String: Any]])
            func service(_ span: [String: Any]) -> String? {
                (span["processID"] as? String).flatMap { processes[$0]?["serviceName"] as? String }
            }
            let byName = Dictionary(uniqueKeysWithValues: spans.map { ($0["operationName"] as? String ?? "", $0) })
            #expect(Set(byName.keys) == ["GET /checkout", "POST /orders", "POST /charge"])
            #expect(service(byName["GET /checkout"]!) == "frontend")
            #expect(service(byName["POST /orders"]!) == "checkout")
            #expect(service(byName["POST /charge"]!) == "payment")
            func parent(_ name: String) -> String? {
                ((byName[name]?["references"] as? [[String: Any]])?.first?["spanID"]) as? String
            }
            #expect(byName["GET /checkout"]?["references"] as? [Any] == nil || parent("GET /checkout") == nil)
            #expect(parent("POST /orders") == front.spanId)
            #expect(parent("POST /charge") == checkout.spanId)
            let chargeTags = byName["POST /charge"]?["tags"] as? [[String: Any]] ?? []
            #expect(chargeTags.contains { $0["key"] as? String == "error" && $0["value"] as? Bool == true })
            #expect(chargeTags.contains { $0["key"] as? String == "otel.status_description" && $0["value"] as? String == "card declined" })

            // The log records of the trace, each with its span.
            let logs = try await SimpleHTTP.get(port: ports[1], path: "/api/traces/\(id)/logs")
            #expect(logs.status == 200)
            for (message, span) in [("checkout started", front.spanId), ("order created", checkout.spanId),
                                    ("charging card", payment.spanId)] {
                #expect(logs.text.contains("\"stringValue\":\"\(message)\""), "\(logs.text.prefix(400))")
                #expect(logs.text.contains("\"spanId\":\"\(span)\""))
            }

            // Tempo: OTLP protobuf with the three spans.
            let tempo = try await SimpleHTTP.get(port: ports[1], path: "/api/traces/\(id)", headers: ["Accept": "application/protobuf"])
            #expect(tempo.status == 200)
            let scan = try OTLPScanner.spans([UInt8](tempo.body))
            #expect(Set(scan.spans.map(\.name)) == ["GET /checkout", "POST /orders", "POST /charge"])
            #expect(Set(scan.services) == ["frontend", "checkout", "payment"])

            // Services, search and 404.
            let (_, services) = try await json(ports[1], "/api/services")
            #expect(Set(services["data"] as? [String] ?? []) == ["frontend", "checkout", "payment"])
            let (missingStatus, _) = try await json(ports[1], "/api/traces/0123456789abcdef0123456789abcdef")
            #expect(missingStatus == 404)
            let (badStatus, _) = try await json(ports[1], "/api/traces/not-an-id")
            #expect(badStatus == 400)

            // collectorctl: the tree, with the logs under their spans and the error marked.
            let ctl = RepoPaths.collectord.deletingLastPathComponent().appendingPathComponent("collectorctl")
            let endpoint = ["--endpoint", "http://127.0.0.1:\(ports[1])"]
            let tree = try await CommandRunner.run(ctl, arguments: ["trace", id] + endpoint)
            #expect(tree.exitCode == 0, "\(tree.stderr)")
            let lines = tree.stdout.split(separator: "\n").map(String.init)
            func index(_ needle: String) -> Int? { lines.firstIndex { $0.contains(needle) } }
            let order = ["frontend GET /checkout", "checkout started", "checkout POST /orders", "order created",
                         "payment POST /charge", "charging card"].map(index)
            #expect(order.allSatisfy { $0 != nil }, "\(tree.stdout)")
            #expect(order.compactMap { $0 } == order.compactMap { $0 }.sorted(), "\(tree.stdout)")
            #expect(lines.contains { $0.contains("✗ payment POST /charge") }, "\(tree.stdout)")
            #expect(tree.stdout.hasPrefix("Trace \(id)\n"))
            #expect(!tree.stdout.contains("\u{1b}["), "no colours when stdout is not a terminal")

            let search = try await CommandRunner.run(ctl, arguments: ["search", "--service", "payment"] + endpoint)
            #expect(search.exitCode == 0, "\(search.stderr)")
            #expect(search.stdout.contains(id), "\(search.stdout)")

            let unknown = try await CommandRunner.run(ctl, arguments: ["trace", "0123456789abcdef0123456789abcdef"] + endpoint)
            #expect(unknown.exitCode != 0)
            #expect(unknown.stderr.split(separator: "\n").count == 1, "\(unknown.stderr)")
            #expect(await collector.stop() == 0)
        }
    }
}
