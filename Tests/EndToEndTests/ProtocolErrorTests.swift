import CollectorTesting
import Foundation
import Testing

extension E2E {
    /// Bad requests get the OTLP status the spec asks for, with a reason, and leave the daemon
    /// serving: malformed bodies, wrong content types and methods, unknown paths and methods,
    /// messages over the configured limits (plain and gzip).
    @Suite("Protocol errors")
    struct ProtocolErrors {
        static let mib = 1 << 20

        static func config(_ ports: Ports) -> TestConfig {
            var config = TestConfig(ports: ports)
            config.grpc = ["max_recv_msg_size_mib: 1"]
            config.http = ["max_request_body_size: \(mib)"]
            return config
        }

        @Test("bad gRPC calls: INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNIMPLEMENTED")
        func grpcErrors() async throws {
            let ports = try Ports()
            let collector = try await Self.config(ports).start()

            for signal in ["traces", "logs"] {
                let malformed = try await rawGRPC(ports, ["--signal", signal, "--payload", "malformed"])
                #expect(malformed.code == "INVALID_ARGUMENT", "\(malformed.code): \(malformed.details ?? "")")
                let message = signal == "traces" ? "ExportTraceServiceRequest" : "ExportLogsServiceRequest"
                #expect(malformed.details?.hasPrefix("malformed protobuf: \(message) could not be decoded") == true,
                        "\(malformed.details ?? "")")
            }

            // 2 MiB against max_recv_msg_size_mib: 1.
            let oversize = try await rawGRPC(ports, ["--payload", "oversize", "--size", String(2 * Self.mib)])
            #expect(oversize.requestBytes > 2 * Self.mib)
            #expect(oversize.code == "RESOURCE_EXHAUSTED", "\(oversize.code): \(oversize.details ?? "")")
            #expect(oversize.details == "grpc: received message larger than max (\(oversize.requestBytes) vs. \(Self.mib))")

            // The same compressed: small on the wire, too large once decompressed.
            let zipped = try await rawGRPC(
                ports, ["--payload", "oversize", "--size", String(2 * Self.mib), "--compression", "gzip"])
            #expect(zipped.code == "RESOURCE_EXHAUSTED", "\(zipped.code): \(zipped.details ?? "")")
            #expect(zipped.details?.contains("after decompression") == true, "\(zipped.details ?? "")")

            // Just under the limit passes.
            let big = try await rawGRPC(ports, ["--payload", "oversize", "--size", String(Self.mib - 4096)])
            #expect(big.code == "OK", "\(big.code): \(big.details ?? "")")

            // A signal this receiver serves in no pipeline (this config has no metrics pipeline).
            let unknown = try await rawGRPC(ports, ["--method", "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"])
            #expect(unknown.code == "UNIMPLEMENTED")
            #expect(unknown.details == "unknown service for metrics: the receiver is not in a metrics pipeline")
            let bogus = try await rawGRPC(ports, ["--method", "/no.Such/Method"])
            #expect(bogus.code == "UNIMPLEMENTED" && bogus.details == "unknown method /no.Such/Method")

            // Still serving: a valid call is accepted and printed, and only the two valid ones were.
            #expect(collector.isRunning)
            let valid = try await rawGRPC(ports)
            #expect(valid.code == "OK", "\(valid.code): \(valid.details ?? "")")
            let text = try await waitForPrinted(collector, "Traces", count: 2)
            #expect(printedSpans(named: "raw-grpc-span", in: text).count == 2)
            #expect(DebugOutput.itemCount(in: text, signal: "Traces") == 2)
            let c = try await counters(ports)
            #expect(c.acceptedSpans["grpc"] == 2 && c.sentSpans == 2)
            // Every refused call is counted, by the status it got.
            let m = try await scrape(ports)
            let rejected = "collectord_receiver_rejected_requests_total"
            for (code, count) in [("INVALID_ARGUMENT", 2.0), ("RESOURCE_EXHAUSTED", 2), ("UNIMPLEMENTED", 2)] {
                #expect(m.value(rejected, labels: ["transport": "grpc", "code": code]) == count, "\(code)")
            }
            #expect(m.sum(rejected) == 6)
            await collector.stop()
        }

        @Test("bad OTLP/HTTP requests: 400, 404, 405, 413, 415 with a reason")
        func httpErrors() async throws {
            let ports = try Ports()
            let collector = try await Self.config(ports).start()
            let port = ports.http

            // Malformed protobuf: 400 with a google.rpc.Status (code 3 INVALID_ARGUMENT) in protobuf.
            let malformed = try await SimpleHTTP.post(port: port, path: "/v1/traces", body: Data([0x0A, 0x64, 0x0A, 0x02, 0x08]))
            #expect(malformed.status == 400)
            #expect(malformed.header("content-type") == "application/x-protobuf")
            let status = try #require(RPCStatus(protobuf: Array(malformed.body)), "body \(malformed.text)")
            #expect(status.code == 3)
            #expect(status.message.hasPrefix("malformed protobuf: ExportTraceServiceRequest could not be decoded"),
                    "\(status.message)")

            // Malformed JSON: 400 with a google.rpc.Status in JSON.
            let badJSON = try await SimpleHTTP.post(
                port: port, path: "/v1/logs", body: Data(#"{"resourceLogs":[{"#.utf8), contentType: "application/json")
            #expect(badJSON.status == 400)
            #expect(badJSON.header("content-type") == "application/json")
            let object = try #require(try JSONSerialization.jsonObject(with: badJSON.body) as? [String: Any])
            #expect(object["code"] as? Int == 3)
            #expect((object["message"] as? String)?.contains("invalid JSON") == true, "\(badJSON.text)")

            // Well-formed JSON of the wrong shape is also a 400.
            let wrongShape = try await SimpleHTTP.post(
                port: port, path: "/v1/traces", body: Data(#"{"resourceSpans":"nope"}"#.utf8), contentType: "application/json")
            #expect(wrongShape.status == 400, "\(wrongShape.status) \(wrongShape.text)")

            let textPlain = try await SimpleHTTP.post(port: port, path: "/v1/traces", body: Data("x".utf8), contentType: "text/plain")
            #expect(textPlain.status == 415)
            #expect(textPlain.text.contains("application/json") && textPlain.text.contains("application/x-protobuf"))

            let get = try await SimpleHTTP.get(port: port, path: "/v1/traces")
            #expect(get.status == 405)
            #expect(get.header("allow") == "POST")

            let notFound = try await SimpleHTTP.post(port: port, path: "/v1/metricz", body: Data("{}".utf8), contentType: "application/json")
            #expect(notFound.status == 404)

            // 2 MiB against max_request_body_size: 1 MiB.
            let tooLarge = try await SimpleHTTP.post(port: port, path: "/v1/traces", body: Data(count: 2 * Self.mib))
            #expect(tooLarge.status == 413)
            #expect(tooLarge.text.contains("\(Self.mib)"), "\(tooLarge.text)")

            // A small gzip body that inflates past the limit.
            let bomb = try gzip(Data(count: 2 * Self.mib))
            #expect(bomb.count < 64 * 1024)
            let inflated = try await SimpleHTTP.post(port: port, path: "/v1/traces", body: bomb, headers: ["Content-Encoding": "gzip"])
            #expect(inflated.status == 413)
            #expect(RPCStatus(protobuf: Array(inflated.body))?.message.contains("after decompression") == true,
                    "\(inflated.text)")

            // A body that is not gzip at all.
            let notGzip = try await SimpleHTTP.post(port: port, path: "/v1/traces", body: Data("plain".utf8),
                                                    headers: ["Content-Encoding": "gzip"])
            #expect(notGzip.status == 400)

            // Still serving: valid JSON and SDK requests go through and are the only ones printed.
            #expect(collector.isRunning)
            let (exit, post) = try await sendJSON(ports)
            #expect(exit == 0 && post.status == 200)
            let sdk = try await runSDK(protocol: "http", ports: ports, args: ["--batches", "--seed", "41"])
            let text = try await waitForPrinted(collector, "Traces", count: 6)
            #expect(DebugOutput.itemCount(in: text, signal: "Traces") == 6)
            #expect(DebugOutput.itemCount(in: text, signal: "Logs") == 0)
            expectPrintedExactly(sdk, in: text, exclusive: false)
            expectPrintedExactly(post.report, in: text, exclusive: false)
            let c = try await counters(ports)
            #expect(c.acceptedSpans["http"] == 6 && c.sentSpans == 6 && c.acceptedLogs["http"] == 0)
            // Every refused request is counted, by the status it got (413 once by the transport's
            // body limit, once by the gzip inflation limit).
            let m = try await scrape(ports)
            let rejected = "collectord_receiver_rejected_requests_total"
            for (code, count) in [("400", 4.0), ("404", 1), ("405", 1), ("413", 2), ("415", 1)] {
                #expect(m.value(rejected, labels: ["transport": "http", "code": code]) == count, "\(code)")
            }
            #expect(m.sum(rejected) == 9)
            await collector.stop()
        }

        /// gzip via the system's `gzip` (an independent implementation).
        func gzip(_ data: Data) throws -> Data {
            let dir = try TemporaryDirectory(prefix: "e2e-gzip")
            let file = dir.file("body")
            try data.write(to: file)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/gzip")
            process.arguments = ["-9", file.path]
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw TestSetupError("gzip failed") }
            return try Data(contentsOf: dir.file("body.gz"))
        }
    }
}
