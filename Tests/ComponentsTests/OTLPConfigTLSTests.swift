import CollectorCore
import CollectorTesting
import OTLPReceiver
import Testing
import TLSSettings

/// configtls's server keys and configauth's `auth` on the OTLP receiver's protocols.
@Suite struct OTLPConfigTLSTests {
    static let parser = ConfigParser(factories: [OTLPFactory(), StubComponentFactory(type: "nop", kind: .exporter)])

    static func yaml(_ grpc: String) -> String {
        """
        receivers:
          otlp:
            protocols:
              grpc:
                endpoint: 127.0.0.1:0
        \(grpc)
        exporters: {nop: {}}
        service:
          pipelines:
            traces: {receivers: [otlp], exporters: [nop]}
        """
    }

    static func problems(_ grpc: String) -> String {
        do {
            _ = try parser.parse(yaml: yaml(grpc), file: "t.yaml", environment: [:])
            return ""
        } catch {
            return "\(error)"
        }
    }

    @Test func tlsAndAuthKeysAreRead() throws {
        let config = try Self.parser.parse(yaml: Self.yaml("""
                tls:
                  cert_file: /etc/tls/server.crt
                  key_file: /etc/tls/server.key
                  client_ca_file: /etc/tls/ca.crt
                  ca_file: /etc/tls/other.crt
                  min_version: "1.3"
                  reload_interval: 1m
                auth:
                  authenticator: bearertokenauth/otlp
        """), file: "t.yaml", environment: [:])
        let grpc = try #require((config.components[.receiver]?.first?.settings as? OTLPSettings)?.grpc)
        var expected = TLSServerSettings(certFile: "/etc/tls/server.crt", keyFile: "/etc/tls/server.key", clientCAFile: "/etc/tls/ca.crt")
        expected.caFile = "/etc/tls/other.crt"
        expected.minVersion = .v1_3
        expected.reloadIntervalNanos = 60_000_000_000
        #expect(grpc.tls == expected)
        #expect(grpc.auth == ComponentID(type: "bearertokenauth", name: "otlp"))
        let plain = try Self.parser.parse(yaml: Self.yaml(""), file: "t.yaml", environment: [:])
        let g = try #require((plain.components[.receiver]?.first?.settings as? OTLPSettings)?.grpc)
        #expect(g.tls == nil && g.auth == nil)
    }

    @Test func badTLSSettingsAreConfigErrorsWithTheirPath() {
        #expect(Self.problems("        tls: {cert_file: a.crt}").contains(
            "receivers.otlp.protocols.grpc.tls (line 6): a TLS listener needs cert_file and key_file (or cert_pem and key_pem)"))
        #expect(Self.problems("        tls: {cert_file: a.crt, key_file: a.key, min_version: \"1.1\"}").contains(
            "receivers.otlp.protocols.grpc.tls.min_version (line 6): TLS 1.1 is not supported (1.2 is the oldest)"))
        #expect(Self.problems("        tls: {cert_file: a.crt, key_file: a.key, min_version: \"1.3\", max_version: \"1.2\"}").contains(
            "receivers.otlp.protocols.grpc.tls.max_version (line 6): is older than min_version 1.3"))
        #expect(Self.problems("        tls: {cert_file: a.crt, key_file: a.key, reload_interval: 0s}").contains(
            "receivers.otlp.protocols.grpc.tls.reload_interval (line 6): must be greater than 0"))
        #expect(Self.problems("        tls: {cert_file: a.crt, key_file: a.key, cipher_suites: [x]}").contains(
            "receivers.otlp.protocols.grpc.tls.cipher_suites (line 6): unknown key \"cipher_suites\""))
        #expect(Self.problems("        auth: {authenticator: \"\"}").contains(
            "receivers.otlp.protocols.grpc.auth.authenticator (line 6): is required (the id of an authenticator extension, e.g. bearertokenauth)"))
    }
}
