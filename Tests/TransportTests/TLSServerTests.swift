import CollectorTesting
import Dispatch
import Foundation
import OpenSSLSupport
import Synchronization
import Testing
import TLSSettings
@testable import Transport

/// The TLS suites, one at a time: the handshake-failure and reload-failure counts are
/// process-wide and these are the only tests that make TLS fail.
@Suite("TLS (live)", .serialized) enum TLSLiveTests {}

/// TLS on the server transport, against real handshakes: certificates are made by the
/// `openssl` command for each test.
extension TLSLiveTests { @Suite("TLS server") struct ServerTests {
    let certs: TestCertificates
    let server: TestCertificates.Pair

    init() throws {
        certs = try TestCertificates()
        server = try certs.issue("server", commonName: "server one")
    }

    func settings(clientCA: String? = nil) -> TLSServerSettings {
        TLSServerSettings(certFile: server.certFile, keyFile: server.keyFile, clientCAFile: clientCA)
    }

    func start(_ tls: TLSServerContext, limits: HTTPServerLimits = HTTPServerLimits(),
               handler: @escaping HTTPHandler = describingHandler) throws -> (HTTPServer, Int) {
        let http = HTTPServer(endpoint: Endpoint(host: "127.0.0.1", port: 0), limits: limits, tls: tls, handler: handler)
        try http.start()
        return (http, http.boundPort!)
    }

    @Test func largeBodiesBothWays() async throws {
        let big = patternBytes(3 << 20)
        let (http, port) = try start(try TLSServerContext(settings: settings())) { request, respond in
            respond(HTTPResponse(status: 200, body: request.path == "/big" ? big : Array("got \(request.body.count)".utf8)))
        }
        defer { http.shutdown(deadline: .now()) {} }
        try await blocking {
            let upload = try TLSTestClient(port: port, ca: certs.caFile())
            #expect(upload.handshake() == nil)
            try upload.send("POST /up HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(2 << 20)\r\nConnection: close\r\n\r\n")
            try upload.send(patternBytes(2 << 20, seed: 7))
            #expect(String(decoding: upload.read().bytes, as: UTF8.self).hasSuffix("\r\n\r\ngot \(2 << 20)"))
            // 3 MiB back: many records and partial writes while the client reads.
            let download = try TLSTestClient(port: port, ca: certs.caFile())
            #expect(download.handshake() == nil)
            try download.send("GET /big HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            let answer = download.read().bytes
            #expect(answer.count > big.count && Array(answer.suffix(big.count)) == big)
        }
    }

    @Test func alpnPicksHTTP2OrHTTP11AndNoALPNLooksAtTheBytes() async throws {
        let (http, port) = try start(try TLSServerContext(settings: settings()))
        defer { http.shutdown(deadline: .now()) {} }
        try await blocking {
            let h1 = try TLSTestClient(port: port, ca: certs.caFile(), alpn: ["http/1.1"])
            #expect(h1.handshake() == nil)
            #expect(h1.stream.negotiatedProtocol == "http/1.1")
            #expect(try h1.get("/one").hasSuffix("\r\n\r\nGET /one 0"))

            let none = try TLSTestClient(port: port, ca: certs.caFile())
            #expect(none.handshake() == nil)
            #expect(none.stream.negotiatedProtocol == nil)
            #expect(try none.get("/two").hasSuffix("\r\n\r\nGET /two 0"))

            let h2 = try TLSTestClient(port: port, ca: certs.caFile(), alpn: ["h2", "http/1.1"])
            #expect(h2.handshake() == nil)
            #expect(h2.stream.negotiatedProtocol == "h2")
            // Preface, empty SETTINGS, then HEADERS (END_STREAM | END_HEADERS) for GET / with
            // HPACK static indexes (:method GET, :scheme https, :path /) and :authority literal.
            let block: [UInt8] = [0x82, 0x87, 0x84, 0x01, 9] + Array("localhost".utf8)
            try h2.send(Connection.http2Preface + [0, 0, 0, 4, 0, 0, 0, 0, 0] + [0, 0, UInt8(block.count), 1, 5, 0, 0, 0, 1] + block)
            let frames = H2Frames(h2.read { H2Frames($0).headers(stream: 1) != nil }.bytes)
            // A dynamic table size update to 0 (0x20: responses are not indexed), then :status
            // 200, static index 8 (0x88).
            #expect(frames.headers(stream: 1)?.prefix(2) == [0x20, 0x88], "\(frames.bytes)")
        }
    }

    @Test func grpcServerNegotiatesH2() async throws {
        let grpc = GRPCServer(endpoint: Endpoint(host: "127.0.0.1", port: 0), tls: try TLSServerContext(settings: settings())) { _, respond in
            respond(.ok([]))
        }
        try grpc.start()
        defer { grpc.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try TLSTestClient(port: grpc.boundPort!, ca: certs.caFile(), alpn: ["h2"])
            #expect(client.handshake() == nil)
            #expect(client.stream.negotiatedProtocol == "h2")
        }
    }

    @Test func mutualTLSRequiresAClientCertificateFromTheCA() async throws {
        let (http, port) = try start(try TLSServerContext(settings: settings(clientCA: certs.caFile())))
        defer { http.shutdown(deadline: .now()) {} }
        let client = try certs.issue("client", commonName: "client one", client: true)
        let stranger = try certs.issue("stranger", commonName: "stranger", by: .other, client: true)
        let failuresBefore = TransportStats.tlsHandshakeFailures
        try await blocking {
            let good = try TLSTestClient(port: port, ca: certs.caFile(), identity: client)
            #expect(good.handshake() == nil)
            #expect(try good.get("/m").hasSuffix("\r\n\r\nGET /m 0"))

            // TLS 1.3: the client finishes first; the server's refusal arrives as an alert.
            for identity in [nil, stranger] {
                let refused = try TLSTestClient(port: port, ca: certs.caFile(), identity: identity)
                let handshake = refused.handshake()
                let answer = handshake == nil ? (try? refused.get("/m")) ?? "" : ""
                #expect(answer == "")
            }
        }
        try await waitUntil("two failed handshakes counted") { TransportStats.tlsHandshakeFailures - failuresBefore == 2 }
    }

    @Test func clientsRefuseAnExpiredCertificateAndOneFromAnotherCA() async throws {
        let expired = try certs.issue("expired", commonName: "expired", expired: true)
        let foreign = try certs.issue("foreign", commonName: "foreign", by: .other)
        for (pair, reason) in [(expired, "certificate has expired"), (foreign, "unable to get local issuer certificate")] {
            let (http, port) = try start(try TLSServerContext(settings: TLSServerSettings(certFile: pair.certFile, keyFile: pair.keyFile)))
            defer { http.shutdown(deadline: .now()) {} }
            let refusal = try await blocking { try TLSTestClient(port: port, ca: certs.caFile()).handshake() }
            #expect(refusal == "certificate verification failed: \(reason)")
        }
    }

    @Test func minVersion13RefusesTLS12() async throws {
        var strict = settings()
        strict.minVersion = .v1_3
        let (http, port) = try start(try TLSServerContext(settings: strict))
        defer { http.shutdown(deadline: .now()) {} }
        let failuresBefore = TransportStats.tlsHandshakeFailures
        try await blocking {
            let old = try TLSTestClient(port: port, ca: certs.caFile(), versions: (.tls12, .tls12))
            let reason = old.handshake()
            #expect(reason?.contains("protocol version") == true, "\(reason ?? "handshake completed")")
            let current = try TLSTestClient(port: port, ca: certs.caFile())
            #expect(current.handshake() == nil)
            #expect(current.stream.protocolVersion == "TLSv1.3")
        }
        try await waitUntil("the refused handshake counted") { TransportStats.tlsHandshakeFailures - failuresBefore == 1 }
    }
} }

/// HTTP/2 frames read back from a server, enough to find a stream's response headers.
struct H2Frames {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The header block of the first HEADERS frame on `stream`, if complete.
    func headers(stream: UInt32) -> [UInt8]? {
        var offset = 0
        while offset + 9 <= bytes.count {
            let length = Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
            let id = UInt32(bytes[offset + 5] & 0x7f) << 24 | UInt32(bytes[offset + 6]) << 16
                | UInt32(bytes[offset + 7]) << 8 | UInt32(bytes[offset + 8])
            guard offset + 9 + length <= bytes.count else { return nil }
            if bytes[offset + 3] == 1 && id == stream { return Array(bytes[(offset + 9)..<(offset + 9 + length)]) }
            offset += 9 + length
        }
        return nil
    }
}
