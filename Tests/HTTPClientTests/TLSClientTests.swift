import CollectorTesting
import Foundation
@testable import HTTPClient
import Testing

/// TLS against a real TLS server: `openssl s_server -www` (Debian's openssl), with
/// certificates made by the openssl CLI for each run. The CA and the client identity are given
/// as PEM in memory, as a kubeconfig's `*-data` fields give them.
@Suite(.serialized) struct TLSClientTests {
    let dir: TemporaryDirectory

    init() async throws {
        dir = try TemporaryDirectory(prefix: "httpclient-tls")
        for name in ["server", "client", "stranger"] {
            let result = try await CommandRunner.run(
                URL(fileURLWithPath: "/usr/bin/openssl"),
                arguments: ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                            "-subj", "/CN=\(name)", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-days", "2",
                            "-keyout", dir.file("\(name)-key.pem").path, "-out", dir.file("\(name).pem").path])
            #expect(result.exitCode == 0, "\(result.stderr)")
        }
    }

    private func pem(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: dir.file(name))) }

    /// Starts s_server; when `requireClient`, it demands a certificate signed by client.pem.
    private func server(requireClient: Bool) async throws -> (ManagedProcess, Int) {
        let port = try FreePort.allocate()
        var args = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", dir.file("server.pem").path,
                    "-key", dir.file("server-key.pem").path, "-www", "-quiet"]
        if requireClient { args += ["-Verify", "1", "-CAfile", dir.file("client.pem").path] }
        let process = try ManagedProcess(executable: URL(fileURLWithPath: "/usr/bin/openssl"), arguments: args)
        try await process.waitForPort(port)
        return (process, port)
    }

    private func get(_ port: Int, _ settings: TLSClientSettings) throws -> Result<HTTPResponse, HTTPClientError> {
        let client = try HTTPClient(endpoint: HTTPEndpoint(host: "127.0.0.1", port: port, tls: true), tls: settings,
                                    timeoutNanos: 5_000_000_000)
        return client.send(HTTPRequest(path: "/"))
    }

    @Test func verifiesTheServerAgainstAnInMemoryCAAndRefusesAStranger() async throws {
        let (process, port) = try await server(requireClient: false)
        defer { process.kill() }
        var trusted = TLSClientSettings()
        trusted.caPEM = try pem("server.pem")
        let response = try get(port, trusted).get()
        #expect(response.status == 200)
        #expect(response.text.contains("s_server"), "\(response.text.prefix(200))")

        var wrong = TLSClientSettings()
        wrong.caPEM = try pem("stranger.pem")
        guard case .failure(let error) = try get(port, wrong) else { Issue.record("a stranger's CA was accepted"); return }
        #expect(error.kind == .tls)
        #expect(error.message.contains("certificate verification failed"), "\(error.message)")
    }

    @Test func presentsAClientCertificateFromMemory() async throws {
        let (process, port) = try await server(requireClient: true)
        defer { process.kill() }
        var settings = TLSClientSettings()
        settings.caPEM = try pem("server.pem")
        settings.certPEM = try pem("client.pem")
        settings.keyPEM = try pem("client-key.pem")
        #expect(try get(port, settings).get().status == 200)

        var anonymous = TLSClientSettings()
        anonymous.caPEM = try pem("server.pem")
        guard case .failure = try get(port, anonymous) else { Issue.record("served without a client certificate"); return }
    }

    @Test func badPEMIsAClearError() throws {
        var settings = TLSClientSettings()
        settings.caPEM = Array("not a certificate".utf8)
        #expect(throws: TLSClientContext.Failure.self) {
            try HTTPClient(endpoint: HTTPEndpoint(host: "127.0.0.1", port: 1, tls: true), tls: settings)
        }
        do {
            _ = try TLSClientContext(settings: settings, host: "x")
        } catch {
            #expect(error.description == "certificate authority: no PEM certificate in the CA data")
        }
    }
}
