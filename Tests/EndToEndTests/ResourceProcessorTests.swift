import CollectorTesting
import Foundation
import Testing

extension E2E {
    /// Spans from the OpenTelemetry Python SDK through the `resource` and `attributes` processors into the store,
    /// read back through the Jaeger API: its process (resource) tags edited as configured.
    @Suite("Resource processor")
    struct ResourceProcessor {
        struct Service: Decodable {
            let traceId: String
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
              resource:
                attributes:
                  - {key: deployment.environment, value: production, action: upsert}
                  - {key: service.name, action: extract, pattern: '^(?P<k8s_deployment_name>[a-z-]+)-[a-z0-9]{9,10}-[a-z0-9]{5}$'}
                  - {key: telemetry.sdk.version, action: delete}
                  - {key: telemetry.sdk.language, action: hash}
                  - {key: shard, value: 7, action: insert}
                  - {key: shard, action: convert, converted_type: string}
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
                  processors: [resource, batch]
                  exporters: [store]
            """
        }

        /// The Jaeger trace once the store has it (the batch processor flushes within 20 ms).
        func storedTrace(_ port: Int, _ id: String) async throws -> [String: Any]? {
            for _ in 0..<100 {
                let r = try await SimpleHTTP.get(port: port, path: "/api/traces/\(id)")
                if r.status == 200, let body = try JSONSerialization.jsonObject(with: r.body) as? [String: Any],
                   let trace = (body["data"] as? [[String: Any]])?.first {
                    return trace
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            return nil
        }

        /// A Jaeger span's or process's tags as text.
        static func tags(_ object: [String: Any]) -> [String: String] {
            var tags: [String: String] = [:]
            for tag in object["tags"] as? [[String: Any]] ?? [] {
                if let key = tag["key"] as? String { tags[key] = "\(tag["value"] ?? "")" }
            }
            return tags
        }

        @Test("an SDK span's resource is edited by the configured actions")
        func sdkSpanResourceEdited() async throws {
            let ports = try FreePort.allocate(count: 3)
            let work = try TemporaryDirectory(prefix: "resource-e2e")
            let collector = try CollectorProcess(
                config: config(grpc: ports[0], query: ports[1], metrics: ports[2], data: work.file("data").path))
            try await collector.waitForOutput(containing: "collectord started", in: .stderr)
            try await collector.waitForPort(ports[1])

            let result = try await PythonClient.run(script: "send_service_span.py", args: [
                "--endpoint", "http://127.0.0.1:\(ports[0])", "--service", "checkout-5d8f7c6b9d-x2kqz", "--name", "POST /orders"])
            #expect(result.exitCode == 0, "\(result.stderr)")
            let sent = try JSONDecoder().decode(Service.self, from: Data(result.stdout.utf8))
            #expect(sent.ok)

            // Stored and queryable once the batch is flushed.
            let trace = try #require(try await storedTrace(ports[1], sent.traceId))
            let tags = (trace["processes"] as? [String: [String: Any]])?.values.first.map(Self.tags) ?? [:]
            #expect(tags["deployment.environment"] == "production")
            #expect(tags["k8s_deployment_name"] == "checkout")
            #expect(tags["telemetry.sdk.version"] == nil)
            // SHA-256 of "python" (the SDK's telemetry.sdk.language), as upstream's hash action.
            #expect(tags["telemetry.sdk.language"] == "11a4a60b518bf24989d481468076e5d5982884626aed9faeb35b8576fcd223e1")
            #expect(tags["shard"] == "7")
            #expect(tags["telemetry.sdk.name"] == "opentelemetry")
        }

        /// The `attributes` processor on the same round trip: the span attributes of the
        /// included service edited, another service's left alone.
        @Test("SDK spans' attributes are edited by the attributes processor for the included service only")
        func sdkSpanAttributesEdited() async throws {
            let ports = try FreePort.allocate(count: 3)
            let work = try TemporaryDirectory(prefix: "attributes-e2e")
            let yaml = config(grpc: ports[0], query: ports[1], metrics: ports[2], data: work.file("data").path)
                .replacingOccurrences(of: "processors: [resource, batch]", with: "processors: [attributes/spans, batch]")
                .replacingOccurrences(of: "  resource:\n", with: """
                  attributes/spans:
                    include: {match_type: strict, services: [checkout], span_kinds: [SPAN_KIND_SERVER]}
                    actions:
                      - {key: peer.service, action: hash}
                      - {key: team, value: payments, action: insert}
                  resource:

                """)
            let collector = try CollectorProcess(config: yaml)
            try await collector.waitForOutput(containing: "collectord started", in: .stderr)
            try await collector.waitForPort(ports[1])

            var spanTags: [String: [String: String]] = [:]
            for service in ["checkout", "frontend"] {
                let result = try await PythonClient.run(script: "send_service_span.py", args: [
                    "--endpoint", "http://127.0.0.1:\(ports[0])", "--service", service, "--name", "op-\(service)"])
                #expect(result.exitCode == 0, "\(result.stderr)")
                let sent = try JSONDecoder().decode(Service.self, from: Data(result.stdout.utf8))
                let trace = try #require(try await storedTrace(ports[1], sent.traceId))
                if let span = (trace["spans"] as? [[String: Any]])?.first { spanTags[service] = Self.tags(span) }
            }
            // SHA-256 of "checkout" (Python's hashlib), as upstream's hash action.
            #expect(spanTags["checkout"]?["peer.service"] == "c7761e58969f7edd498186641b2021e8477e1bcd230de4cf3435242da4a40d14")
            #expect(spanTags["checkout"]?["team"] == "payments")
            #expect(spanTags["frontend"]?["peer.service"] == "frontend")
            #expect(spanTags["frontend"]?["team"] == nil)
        }
    }
}
