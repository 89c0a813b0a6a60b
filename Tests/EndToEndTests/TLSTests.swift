import CollectorTesting
import Foundation
import Testing

extension E2E {
    /// TLS and auth against a real `collectord` and the real Python OTel SDK, with certificates
    /// made by the `openssl` command: OTLP/gRPC over TLS and OTLP/HTTP over mutual TLS into the
    /// store, read back through the query API over TLS with a bearer token by `collectorctl`;
    /// certificates rotated on disk while a client sends, and on SIGHUP.
    @Suite("TLS and auth")
    struct TLSAndAuth {
        static let token = "e2e-s3cret-token"

        let certs: TestCertificates
        let server: TestCertificates.Pair
        let client: TestCertificates.Pair

        init() throws {
            certs = try TestCertificates()
            server = try certs.issue("server", commonName: "collectord one")
            client = try certs.issue("client", commonName: "sdk client", client: true)
        }

        var ctl: URL { RepoPaths.collectord.deletingLastPathComponent().appendingPathComponent("collectorctl") }

        func config(_ ports: [Int], data: String, reloadInterval: String = "1m", queryReload: Bool = true) -> String {
            let tls = "{cert_file: \(server.certFile), key_file: \(server.keyFile)}"
            return """
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 127.0.0.1:\(ports[0])
                    tls: \(tls)
                  http:
                    endpoint: 127.0.0.1:\(ports[1])
                    tls:
                      cert_file: \(server.certFile)
                      key_file: \(server.keyFile)
                      client_ca_file: \(certs.caFile())
                      reload_interval: \(reloadInterval)
            processors:
              batch:
                timeout: 20ms
            exporters:
              store:
                directory: \(data)
            extensions:
              bearertokenauth:
                token: \(Self.token)
              query:
                endpoint: 127.0.0.1:\(ports[2])
                tls: {cert_file: \(certs.path("query.crt")), key_file: \(certs.path("query.key"))}
                auth:
                  authenticator: bearertokenauth
              health_check:
                endpoint: 127.0.0.1:\(ports[4])
                tls: \(tls)
            service:
              extensions: [bearertokenauth, query, health_check]
              telemetry:
                metrics:
                  address: 127.0.0.1:\(ports[3])
                  tls: \(tls)
              pipelines:
                traces:
                  receivers: [otlp]
                  processors: [batch]
                  exporters: [store]
            """
        }

        func start(_ ports: [Int], _ work: TemporaryDirectory, reloadInterval: String = "1m") async throws -> CollectorProcess {
            try certs.issue("query", commonName: "query one")
            let collector = try CollectorProcess(config: config(ports, data: work.file("data").path, reloadInterval: reloadInterval))
            try await collector.waitForOutput(containing: "collectord started", in: .stderr)
            return collector
        }

        func send(_ args: [String]) async throws -> (CommandResult, ClientReport) {
            let result = try await PythonClient.run(script: "send_traces.py", args: args + ["--timeout", "5"])
            return (result, try result.decode(ClientReport.self))
        }

        /// GET over HTTPS with curl, trusting the test CA.
        func curl(_ port: Int, _ path: String) async throws -> String {
            let r = try await CommandRunner.run(URL(fileURLWithPath: "/usr/bin/curl"),
                                                arguments: ["-sS", "--cacert", certs.caFile(), "https://localhost:\(port)\(path)"])
            #expect(r.exitCode == 0, "\(r.stderr)")
            return r.stdout
        }

        /// The subject of the certificate a new connection to `port` is given.
        func servedSubject(_ port: Int) async throws -> String {
            let r = try await CommandRunner.run(URL(fileURLWithPath: "/usr/bin/openssl"), arguments: [
                "s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", "-CAfile", certs.caFile(),
                "-cert", client.certFile, "-key", client.keyFile])
            return r.stdout.split(separator: "\n").first { $0.hasPrefix("subject=") }.map(String.init) ?? ""
        }

        @Test("OTLP/gRPC over TLS and OTLP/HTTP over mTLS into the store, read with collectorctl over TLS with a token")
        func exportOverTLSAndQueryWithAToken() async throws {
            let ports = try FreePort.allocate(count: 5)  // grpc, http, query, metrics, health
            let work = try TemporaryDirectory(prefix: "tls-e2e")
            let collector = try await start(ports, work)

            let (grpc, grpcReport) = try await send(["--protocol", "grpc", "--endpoint", "https://127.0.0.1:\(ports[0])",
                                                     "--ca-file", certs.caFile(), "--service", "over-grpc", "--seed", "1"])
            #expect(grpc.exitCode == 0 && grpcReport.ok, "\(grpc.stderr)")
            let (http, httpReport) = try await send(["--protocol", "http", "--endpoint", "https://localhost:\(ports[1])",
                                                     "--ca-file", certs.caFile(), "--client-cert", client.certFile,
                                                     "--client-key", client.keyFile, "--service", "over-mtls", "--seed", "2"])
            #expect(http.exitCode == 0 && httpReport.ok, "\(http.stderr)")

            // Refused: no client certificate for mTLS, and a CA that did not issue the server's.
            let (anonymous, anonymousReport) = try await send(["--protocol", "http", "--endpoint", "https://localhost:\(ports[1])",
                                                               "--ca-file", certs.caFile(), "--seed", "3"])
            #expect(anonymous.exitCode == 1 && !anonymousReport.ok)
            for (proto, port, host) in [("grpc", ports[0], "127.0.0.1"), ("http", ports[1], "localhost")] {
                let (wrong, wrongReport) = try await send(["--protocol", proto, "--endpoint", "https://\(host):\(port)",
                                                           "--ca-file", certs.caFile(.other), "--seed", "4"])
                #expect(wrong.exitCode == 1 && !wrongReport.ok, "\(proto): \(wrong.stdout)")
            }

            // collectorctl over TLS with the token (flag and environment) reads both traces.
            let tls = ["--endpoint", "https://localhost:\(ports[2])", "--ca-file", certs.caFile()]
            for (report, service) in [(grpcReport, "over-grpc"), (httpReport, "over-mtls")] {
                let id = try #require(report.traceIds.first)
                try await waitUntil("trace \(id) stored") {
                    try await CommandRunner.run(ctl, arguments: ["trace", id, "--token", Self.token] + tls).exitCode == 0
                }
                let tree = try await CommandRunner.run(ctl, arguments: ["trace", id] + tls,
                                                       environment: ["COLLECTORCTL_TOKEN": Self.token])
                #expect(tree.exitCode == 0, "\(tree.stderr)")
                #expect(tree.stdout.hasPrefix("Trace \(id)\n"), "\(tree.stdout)")
                for name in ["\(service) GET /api/checkout", "validate-cart", "SELECT carts", "POST /payments"] {
                    #expect(tree.stdout.contains(name), "\(name) in \(tree.stdout)")
                }
            }
            let id = grpcReport.traceIds[0]
            let missing = try await CommandRunner.run(ctl, arguments: ["trace", id] + tls)
            #expect(missing.exitCode == 6)
            #expect(missing.stderr == "collectorctl: https://localhost:\(ports[2]) requires a bearer token: pass --token or set COLLECTORCTL_TOKEN\n")
            let wrongToken = try await CommandRunner.run(ctl, arguments: ["trace", id, "--token", "nope"] + tls)
            #expect(wrongToken.exitCode == 6)
            #expect(wrongToken.stderr == "collectorctl: https://localhost:\(ports[2]) refused the bearer token (401)\n")
            let wrongCA = try await CommandRunner.run(ctl, arguments: ["trace", id, "--token", Self.token, "--endpoint",
                                                                       "https://localhost:\(ports[2])", "--ca-file", certs.caFile(.other)])
            #expect(wrongCA.exitCode == 4)
            #expect(wrongCA.stderr.hasSuffix("certificate verification failed: unable to get local issuer certificate\n"), "\(wrongCA.stderr)")
            #expect(wrongCA.stderr.split(separator: "\n").count == 1)
            let plain = try await CommandRunner.run(curlURL, arguments: ["-s", "-o", "/dev/null", "-w", "%{http_code} %header{www-authenticate}",
                                                                         "--cacert", certs.caFile(), "https://localhost:\(ports[2])/api/services"])
            #expect(plain.stdout == "401 Bearer")

            // The metrics and health endpoints speak TLS too; failed handshakes are counted.
            let metrics = PrometheusScrape(try await curl(ports[3], "/metrics"))
            let failures = metrics.matching("collectord_server_tls_handshake_failures_total").first?.value ?? 0
            #expect(failures >= 3, "the anonymous mTLS client and the two wrong-CA clients")
            #expect(try await curl(ports[4], "/").hasPrefix("{\"status\":\"Server available\""))
            #expect(await collector.stop() == 0)
        }

        var curlURL: URL { URL(fileURLWithPath: "/usr/bin/curl") }

        @Test("a certificate rotated on disk while a client sends, and one reloaded on SIGHUP")
        func rotationWhileSending() async throws {
            let ports = try FreePort.allocate(count: 5)
            let work = try TemporaryDirectory(prefix: "tls-rotate")
            let collector = try await start(ports, work, reloadInterval: "1s")
            #expect(try await servedSubject(ports[1]) == "subject=CN = collectord one")

            let sender = try PythonClient.start(script: "send_traces.py", args: [
                "--protocol", "http", "--endpoint", "https://localhost:\(ports[1])", "--ca-file", certs.caFile(),
                "--client-cert", client.certFile, "--client-key", client.keyFile, "--count", "120", "--interval", "0.05",
                "--timeout", "5"])
            try await waitUntil("spans arriving", timeout: .seconds(20)) {
                let scrape = PrometheusScrape(try await curl(ports[3], "/metrics"))
                return scrape.matching("otelcol_receiver_accepted_spans_total").reduce(0) { $0 + $1.value } >= 8
            }
            try certs.issue("server", commonName: "collectord two")   // rewritten on disk, same CA
            try await waitUntil("new connections get the new certificate", timeout: .seconds(10)) {
                try await servedSubject(ports[1]) == "subject=CN = collectord two"
            }
            #expect(sender.isRunning, "the client was still sending when the certificate changed")
            let result = try await sender.result(timeout: .seconds(60))
            let report = try result.decode(ClientReport.self)
            #expect(result.exitCode == 0 && report.ok, "\(result.stderr)")
            #expect(report.exports.filter { $0.result == "SUCCESS" }.reduce(0) { $0 + $1.items } == 480)

            // The query extension has no reload_interval: SIGHUP re-reads its files.
            #expect(try await servedSubject(ports[2]) == "subject=CN = query one")
            try certs.issue("query", commonName: "query two")
            #expect(try await servedSubject(ports[2]) == "subject=CN = query one")
            let mark = try collector.reload(config: config(ports, data: work.file("data").path, reloadInterval: "1s"))
            try await collector.waitForOutput(containing: "configuration reloaded", in: .stderr, since: mark)
            #expect(try await servedSubject(ports[2]) == "subject=CN = query two")
            #expect(await collector.stop() == 0)
        }
    }
}
