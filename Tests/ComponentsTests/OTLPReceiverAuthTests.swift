import CollectorCore
import CollectorTesting
import Foundation
import OTLPReceiver
import Testing

/// `auth: {authenticator: ...}` on the OTLP/HTTP protocol: requests need the authenticator's
/// `Authorization`; one that is not running refuses everything.
@Suite struct OTLPReceiverAuthTests {
    final class Fixed: RequestAuthenticator {
        func authenticate(authorization: String?) -> Bool { authorization == "Bearer right" }
        var challenge: String { "Bearer" }
    }

    @Test func httpRequestsNeedTheToken() async throws {
        let port = try FreePort.allocate()
        var http = OTLPSettings.HTTP()
        http.endpoint = "127.0.0.1:\(port)"
        http.auth = ComponentID(type: "bearertokenauth")
        let registry = AuthenticatorRegistry()
        let metrics = MetricsRegistry()
        let receiver = OTLPReceiver(name: "otlp", settings: OTLPSettings(http: http), metrics: metrics, logger: .discarding,
                                    authenticators: registry)
        let capture = OTLPReceiverContextTests.Capture()
        receiver.setConsumer(capture, for: .traces)
        try receiver.start()
        defer { receiver.shutdown(deadline: .now() + 1) {} }
        let body = Data(OTLPBuild.traces([TestResource(service: "a", items: [
            TestSpan(traceID: traceID(1), spanID: spanID(1), name: "x", start: 1, end: 2)])]))

        let notRunning = try await SimpleHTTP.post(port: port, path: "/v1/traces", body: body, headers: ["Authorization": "Bearer right"])
        #expect(notRunning.status == 401)
        let authenticator = Fixed()
        registry.register(authenticator, as: ComponentID(type: "bearertokenauth"))
        for header in [nil, "Bearer wrong"] {
            let refused = try await SimpleHTTP.post(port: port, path: "/v1/traces", body: body,
                                                    headers: header.map { ["Authorization": $0] } ?? [:])
            #expect(refused.status == 401)
            #expect(refused.headers["www-authenticate"] == "Bearer")
            #expect(refused.text == "401 unauthorized: missing or invalid authorization\n")
        }
        let accepted = try await SimpleHTTP.post(port: port, path: "/v1/traces", body: body, headers: ["Authorization": "Bearer right"])
        #expect(accepted.status == 200)
        #expect(capture.batches.withLock { $0.count } == 1)
        registry.unregister(authenticator, as: ComponentID(type: "bearertokenauth"))
        let gone = try await SimpleHTTP.post(port: port, path: "/v1/traces", body: body, headers: ["Authorization": "Bearer right"])
        #expect(gone.status == 401)
    }
}
