import CollectorTesting
import Foundation
import Synchronization
import Testing
import TLSSettings
@testable import Transport

/// Certificates re-read when their files change (checked on accept once `reload_interval` has
/// passed, on an injected clock), on demand (SIGHUP), the handshake timeout, and load errors.
extension TLSLiveTests { @Suite("TLS reload and errors") struct ReloadTests {
    let certs: TestCertificates

    init() throws { certs = try TestCertificates() }

    /// Which certificate the server presents now, as a new client sees it.
    func servedSubject(_ port: Int) async throws -> String? {
        try await blocking {
            let client = try TLSTestClient(port: port, ca: certs.caFile())
            guard client.handshake() == nil else { return nil }
            return client.stream.peerSubject
        }
    }

    @Test func filesChangedOnDiskAreReadAtTheNextCheck() async throws {
        try certs.issue("live", commonName: "first")
        let clock = Atomic<UInt64>(1_000)
        var settings = TLSServerSettings(certFile: certs.path("live.crt"), keyFile: certs.path("live.key"))
        settings.reloadIntervalNanos = 10_000_000_000
        let tls = try TLSServerContext(settings: settings) { clock.load(ordering: .relaxed) }
        let http = HTTPServer(endpoint: Endpoint(host: "127.0.0.1", port: 0), tls: tls, handler: describingHandler)
        try http.start()
        defer { http.shutdown(deadline: .now()) {} }
        let port = http.boundPort!
        #expect(try await servedSubject(port) == "/CN=first")

        try certs.issue("live", commonName: "second")   // rewritten in place
        #expect(try await servedSubject(port) == "/CN=first")   // the interval has not passed
        clock.store(1_000 + 10_000_000_001, ordering: .relaxed)
        #expect(try await servedSubject(port) == "/CN=second")
        #expect(tls.loadCount == 2)

        // A broken key (half-written rotation) keeps the previous certificate and is counted.
        let failuresBefore = TransportStats.tlsReloadFailures
        try certs.issue("live", commonName: "third")
        try Data("-----BEGIN PRIVATE KEY-----\ntruncated".utf8).write(to: URL(fileURLWithPath: certs.path("live.key")))
        clock.store(1_000 + 20_000_000_002, ordering: .relaxed)
        #expect(try await servedSubject(port) == "/CN=second")
        #expect(TransportStats.tlsReloadFailures - failuresBefore == 1)
        #expect(tls.loadCount == 2)
    }

    @Test func reloadOnDemandAndANewContextForAKeptServer() async throws {
        try certs.issue("kept", commonName: "before")
        let settings = TLSServerSettings(certFile: certs.path("kept.crt"), keyFile: certs.path("kept.key"))
        let tls = try TLSServerContext(settings: settings)   // no interval: only on demand
        let http = HTTPServer(endpoint: Endpoint(host: "127.0.0.1", port: 0), tls: tls, handler: describingHandler)
        try http.start()
        defer { http.shutdown(deadline: .now()) {} }
        let port = http.boundPort!
        try certs.issue("kept", commonName: "after")
        #expect(try await servedSubject(port) == "/CN=before")
        try tls.reload()
        #expect(try await servedSubject(port) == "/CN=after")

        let other = try certs.issue("replacement", commonName: "replacement")
        http.setTLS(try TLSServerContext(settings: TLSServerSettings(certFile: other.certFile, keyFile: other.keyFile)))
        #expect(try await servedSubject(port) == "/CN=replacement")
    }

    @Test func aHandshakeNotFinishedInTheHeaderTimeoutIsClosed() async throws {
        let pair = try certs.issue("server", commonName: "server")
        let tls = try TLSServerContext(settings: TLSServerSettings(certFile: pair.certFile, keyFile: pair.keyFile))
        let limits = HTTPServerLimits(idleTimeoutNanos: 100_000_000_000, requestReadTimeoutNanos: 100_000_000_000,
                                      headerReadTimeoutNanos: 5_000_000_000)
        let http = HTTPServer(endpoint: Endpoint(host: "127.0.0.1", port: 0), limits: limits, tls: tls, handler: describingHandler)
        try http.start()
        defer { http.shutdown(deadline: .now()) {} }
        let client = try RawHTTPClient(port: http.boundPort!)
        try client.send([0x16, 0x03, 0x01])   // the start of a ClientHello, then nothing
        try await waitUntil("the connection is registered") { http.connectionActivities == [.receivingHead] }
        let failuresBefore = TransportStats.tlsHandshakeFailures
        let timeoutsBefore = TransportStats.requestReadTimeouts
        let t0 = DispatchTime.now().uptimeNanoseconds
        http.sweepTimeouts(now: t0)
        http.sweepTimeouts(now: t0 + 4_000_000_000)
        try await Task.sleep(for: .milliseconds(50))
        #expect(http.connectionCount == 1)
        http.sweepTimeouts(now: t0 + 5_000_000_001)
        try await waitUntil("closed") { http.connectionCount == 0 }
        #expect(TransportStats.tlsHandshakeFailures - failuresBefore == 1)
        #expect(TransportStats.requestReadTimeouts - timeoutsBefore == 1)
        #expect(try await blocking { try client.isClosedByPeer() })
    }

    @Test func loadErrorsNameTheKeyTheFileAndOpenSSLsReason() throws {
        let pair = try certs.issue("server", commonName: "server")
        let other = try certs.issue("other", commonName: "other")
        let missing = certs.path("missing.crt")
        let cases: [(TLSServerSettings, String)] = [
            (TLSServerSettings(certFile: missing, keyFile: pair.keyFile), "tls.cert_file \(missing): error:"),
            (TLSServerSettings(certFile: pair.certFile, keyFile: other.keyFile), "tls.key_file \(other.keyFile): error:"),
            (TLSServerSettings(certFile: pair.certFile, keyFile: pair.keyFile, clientCAFile: missing), "tls.client_ca_file \(missing): error:"),
        ]
        for (settings, prefix) in cases {
            #expect {
                try TLSServerContext(settings: settings)
            } throws: { error in
                "\(error)".hasPrefix(prefix)
            }
        }
        for (settings, reason) in [(cases[0].0, "No such file or directory"), (cases[1].0, "key values mismatch")] {
            do {
                _ = try TLSServerContext(settings: settings)
            } catch {
                #expect(error.description.hasSuffix(reason), "\(error)")
            }
        }
    }
} }
