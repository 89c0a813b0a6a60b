import CollectorTesting
import Dispatch
import Foundation
import Testing
import TLSSettings
@testable import Transport

/// The gRPC client over TLS (ALPN "h2") against our own gRPC server, certificates made by the
/// `openssl` command. In the serialized TLS suite: failed handshakes are counted process-wide.
extension TLSLiveTests { @Suite("gRPC client TLS") struct GRPCClientTLSTests {
    let certs: TestCertificates
    let server: TestCertificates.Pair

    init() throws {
        certs = try TestCertificates()
        server = try certs.issue("server", commonName: "server one")
    }

    func startServer(clientCA: String? = nil) throws -> GRPCServer {
        let settings = TLSServerSettings(certFile: server.certFile, keyFile: server.keyFile, clientCAFile: clientCA)
        let grpc = GRPCServer(endpoint: Endpoint(host: "127.0.0.1", port: 0), tls: try TLSServerContext(settings: settings)) {
            request, respond in respond(.ok(request.message.reversed()))
        }
        try grpc.start()
        return grpc
    }

    func client(_ port: Int, host: String = "localhost", _ configure: (inout TLSClientSettings) -> Void) throws -> GRPCClient {
        var tls = TLSClientSettings()
        configure(&tls)
        return try GRPCClient(configuration: HTTP2ClientConfiguration(host: host, port: port, tls: tls))
    }

    func call(_ client: GRPCClient) async -> Result<[UInt8], GRPCCallError> {
        defer { Task { await client.shutdown(deadline: .now()) } }
        do { return .success(try await client.call(path: "/t.S/M", message: [1, 2, 3], timeout: .seconds(20))) } catch {
            return .failure(error)
        }
    }

    @Test func alpnH2WithTheRightCAAndServerNameOverride() async throws {
        let grpc = try startServer()
        defer { grpc.shutdown(deadline: .now()) {} }
        let port = grpc.boundPort!
        #expect(try await call(client(port) { $0.caFile = certs.caFile() }).get() == [3, 2, 1])
        // 127.0.0.1 is in the certificate too; an override names what to verify instead.
        #expect(try await call(client(port, host: "127.0.0.1") { $0.caFile = certs.caFile(); $0.serverNameOverride = "localhost" })
            .get() == [3, 2, 1])
        let mismatch = await call(try client(port) { $0.caFile = certs.caFile(); $0.serverNameOverride = "wrong.example" })
        guard case .failure(let error) = mismatch else { Issue.record("a wrong server name was accepted"); return }
        #expect(error.status == .unavailable)
        #expect(error.message.contains("certificate verification failed: hostname mismatch"), "\(error.message)")
    }

    @Test func aWrongCAIsRefusedUnlessVerificationIsSkipped() async throws {
        let grpc = try startServer()
        defer { grpc.shutdown(deadline: .now()) {} }
        let port = grpc.boundPort!
        let refused = await call(try client(port) { $0.caFile = certs.caFile(.other) })
        guard case .failure(let error) = refused else { Issue.record("a certificate from another CA was accepted"); return }
        #expect(error.status == .unavailable && error.isRetryable && error.notProcessed)
        #expect(error.message == "TLS handshake with localhost:\(port): certificate verification failed: unable to get local issuer certificate",
                "\(error.message)")
        #expect(try await call(client(port) { $0.caFile = certs.caFile(.other); $0.insecureSkipVerify = true }).get() == [3, 2, 1])
    }

    @Test func mutualTLS() async throws {
        let grpc = try startServer(clientCA: certs.caFile())
        defer { grpc.shutdown(deadline: .now()) {} }
        let port = grpc.boundPort!
        let identity = try certs.issue("client", commonName: "agent", client: true)
        #expect(try await call(client(port) {
            $0.caFile = certs.caFile()
            $0.certFile = identity.certFile
            $0.keyFile = identity.keyFile
        }).get() == [3, 2, 1])
        let anonymous = await call(try client(port) { $0.caFile = certs.caFile() })
        guard case .failure(let error) = anonymous else { Issue.record("a client without a certificate got through"); return }
        #expect(error.status == .unavailable)
    }

    @Test func unreadableTLSFilesAreConfigurationErrors() throws {
        var tls = TLSClientSettings()
        tls.caFile = certs.path("missing.crt")
        #expect(throws: HTTP2ClientError(.invalidConfiguration,
                                         "tls.ca_file \(certs.path("missing.crt")): error:80000002:system library::No such file or directory")) {
            try HTTP2Client(configuration: HTTP2ClientConfiguration(host: "localhost", port: 1, tls: tls))
        }
    }
} }
