import CollectorCore
import CollectorTesting
import OTLPReceiver
import Foundation
import Testing

/// confighttp's `idle_timeout`, `read_header_timeout` and `read_timeout` on the OTLP/HTTP
/// receiver, and configgrpc's `max_concurrent_streams` and `max_connection_idle` on gRPC,
/// become the transport's limits.
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
        let config = try Self.parser.parse(yaml: Self.yaml("        idle_timeout: 90s\n        read_header_timeout: 15s\n        read_timeout: 2m"),
                                           file: "t.yaml", environment: [:])
        let http = try #require((config.components[.receiver]?.first?.settings as? OTLPSettings)?.http)
        #expect(http.limits.idleTimeoutNanos == 90_000_000_000)
        #expect(http.limits.headerReadTimeoutNanos == 15_000_000_000)
        #expect(http.limits.requestReadTimeoutNanos == 120_000_000_000)
        #expect(http.limits.maxBodyBytes == 20 * 1024 * 1024)
        #expect(http.limits.maxConcurrentStreams == 100)
        let defaults = try Self.parser.parse(yaml: Self.yaml(""), file: "t.yaml", environment: [:])
        let d = try #require((defaults.components[.receiver]?.first?.settings as? OTLPSettings)?.http)
        #expect(d.limits.idleTimeoutNanos == 60_000_000_000 && d.limits.requestReadTimeoutNanos == 60_000_000_000
                && d.limits.headerReadTimeoutNanos == 60_000_000_000)
        do {
            _ = try Self.parser.parse(yaml: Self.yaml("        idle_timeout: 0s"), file: "t.yaml", environment: [:])
            Issue.record("accepted a zero idle_timeout")
        } catch {
            #expect("\(error)".contains("idle_timeout (line 6): must be greater than 0"), "\(error)")
        }
    }

    @Test func grpcStreamsAndIdleTimeoutAreRead() throws {
        let yaml = """
        receivers:
          otlp:
            protocols:
              grpc:
                endpoint: 127.0.0.1:0
                max_concurrent_streams: 16
                keepalive:
                  server_parameters:
                    max_connection_idle: 11s
                    max_connection_age: 1h
        exporters: {nop: {}}
        service:
          pipelines:
            traces: {receivers: [otlp], exporters: [nop]}
        """
        let config = try Self.parser.parse(yaml: yaml, file: "t.yaml", environment: [:])
        let grpc = try #require((config.components[.receiver]?.first?.settings as? OTLPSettings)?.grpc)
        #expect(grpc.headerLimits.maxConcurrentStreams == 16)
        #expect(grpc.headerLimits.idleTimeoutNanos == 11_000_000_000)
        #expect(grpc.headerLimits.requestReadTimeoutNanos == 60_000_000_000)
        let unset = try Self.parser.parse(yaml: yaml.replacingOccurrences(of: "max_concurrent_streams: 16", with: "max_concurrent_streams: 0"),
                                          file: "t.yaml", environment: [:])
        let zero = try #require((unset.components[.receiver]?.first?.settings as? OTLPSettings)?.grpc)
        #expect(zero.headerLimits.maxConcurrentStreams == 100, "0 means our safe default, not unlimited")
    }
}
