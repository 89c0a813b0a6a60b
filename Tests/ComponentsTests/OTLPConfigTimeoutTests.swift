import CollectorCore
import CollectorTesting
import OTLPReceiver
import Testing

/// confighttp's `idle_timeout` and `read_header_timeout` on the OTLP/HTTP receiver become the
/// transport's idle and request-read timeouts.
@Suite struct OTLPConfigTimeoutTests {
    static let parser = ConfigParser(factories: [OTLPFactory(), StubComponentFactory(type: "nop", kind: .exporter)])

    static func yaml(_ http: String) -> String {
        """
        receivers:
          otlp:
            protocols:
              http:
                endpoint: 127.0.0.1:0
        \(http)
        exporters: {nop: {}}
        service:
          pipelines:
            traces: {receivers: [otlp], exporters: [nop]}
        """
    }

    @Test func timeoutsAreReadAndApplied() throws {
        let config = try Self.parser.parse(yaml: Self.yaml("        idle_timeout: 90s\n        read_header_timeout: 15s"),
                                           file: "t.yaml", environment: [:])
        let http = try #require((config.components[.receiver]?.first?.settings as? OTLPSettings)?.http)
        #expect(http.limits.idleTimeoutNanos == 90_000_000_000)
        #expect(http.limits.requestReadTimeoutNanos == 15_000_000_000)
        #expect(http.limits.maxBodyBytes == 20 * 1024 * 1024)
        let defaults = try Self.parser.parse(yaml: Self.yaml(""), file: "t.yaml", environment: [:])
        let d = try #require((defaults.components[.receiver]?.first?.settings as? OTLPSettings)?.http)
        #expect(d.limits.idleTimeoutNanos == 60_000_000_000 && d.limits.requestReadTimeoutNanos == 60_000_000_000)
        do {
            _ = try Self.parser.parse(yaml: Self.yaml("        idle_timeout: 0s"), file: "t.yaml", environment: [:])
            Issue.record("accepted a zero idle_timeout")
        } catch {
            #expect("\(error)".contains("idle_timeout (line 6): must be greater than 0"), "\(error)")
        }
    }
}
