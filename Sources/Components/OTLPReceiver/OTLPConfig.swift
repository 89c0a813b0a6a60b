import CollectorCore
import TLSSettings
import Transport

/// Settings of the `otlp` receiver, with the OTel Collector's names and defaults.
public struct OTLPSettings: ComponentSettings, Equatable {
    public struct GRPC: Sendable, Equatable {
        public var endpoint = "0.0.0.0:4317"
        public var maxRecvMsgSizeMiB = 4
        /// `max_concurrent_streams` and `keepalive.server_parameters.max_connection_idle`.
        public var listener = ListenerLimits()
        /// configtls's server keys (nil: h2c).
        public var tls: TLSServerSettings?
        /// `auth.authenticator`: calls without its token are answered UNAUTHENTICATED.
        public var auth: ComponentID?
        public init() {}

        /// The transport limits these settings ask for (the body bound is the message size).
        public var headerLimits: HTTPServerLimits {
            HTTPServerLimits(idleTimeoutNanos: listener.idleTimeoutNanos, requestReadTimeoutNanos: listener.readTimeoutNanos,
                             headerReadTimeoutNanos: listener.readHeaderTimeoutNanos,
                             maxConcurrentStreams: listener.maxConcurrentStreams)
        }
    }

    public struct HTTP: Sendable, Equatable {
        public var endpoint = "0.0.0.0:4318"
        public var tracesURLPath = "/v1/traces"
        public var logsURLPath = "/v1/logs"
        public var metricsURLPath = "/v1/metrics"
        public var maxRequestBodySize = 20 * 1024 * 1024
        /// confighttp's `idle_timeout`, `read_header_timeout` and `read_timeout`.
        public var listener = ListenerLimits()
        /// configtls's server keys (nil: plain HTTP).
        public var tls: TLSServerSettings?
        /// `auth.authenticator`: requests without its token are answered 401.
        public var auth: ComponentID?
        public init() {}

        /// The transport limits these settings ask for.
        public var limits: HTTPServerLimits {
            HTTPServerLimits(maxBodyBytes: maxRequestBodySize, idleTimeoutNanos: listener.idleTimeoutNanos,
                             requestReadTimeoutNanos: listener.readTimeoutNanos,
                             headerReadTimeoutNanos: listener.readHeaderTimeoutNanos,
                             maxConcurrentStreams: listener.maxConcurrentStreams)
        }
    }

    public var grpc: GRPC?
    public var http: HTTP?

    public init(grpc: GRPC? = nil, http: HTTP? = nil) {
        self.grpc = grpc
        self.http = http
    }
}

public struct OTLPFactory: ReceiverFactory {
    public init() {}
    public var type: String { "otlp" }
    public var kind: ComponentKind { .receiver }
    public var signals: Set<Signal> { [.traces, .logs, .metrics] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = OTLPSettings()
        guard let protocols = reader.section("protocols") else {
            reader.sink.add(reader.node, "must specify at least one protocol when using the OTLP receiver (protocols.grpc or protocols.http)")
            return s
        }
        if let g = protocols.section("grpc") {
            var grpc = OTLPSettings.GRPC()
            grpc.endpoint = endpoint(g, default: grpc.endpoint)
            grpc.maxRecvMsgSizeMiB = g.int("max_recv_msg_size_mib", default: grpc.maxRecvMsgSizeMiB, range: 1...1024)
            grpc.listener = g.grpcListenerLimits()
            _ = g.string("transport", default: "tcp")
            _ = g.int("read_buffer_size", default: 0)
            _ = g.int("write_buffer_size", default: 0)
            _ = g.bool("include_metadata", default: false)
            grpc.tls = g.tlsServerSettings()
            grpc.auth = g.authenticator()
            s.grpc = grpc
        }
        if let h = protocols.section("http") {
            var http = OTLPSettings.HTTP()
            http.endpoint = endpoint(h, default: http.endpoint)
            http.tracesURLPath = h.string("traces_url_path", default: http.tracesURLPath)
            http.logsURLPath = h.string("logs_url_path", default: http.logsURLPath)
            http.metricsURLPath = h.string("metrics_url_path", default: http.metricsURLPath)
            http.maxRequestBodySize = h.int("max_request_body_size", default: http.maxRequestBodySize, range: 1...(1 << 30))
            http.listener = h.httpListenerLimits()
            _ = h.bool("include_metadata", default: false)
            _ = h.section("cors").map(ignoreAll)
            http.tls = h.tlsServerSettings()
            http.auth = h.authenticator()
            for (key, path) in [("traces_url_path", http.tracesURLPath), ("logs_url_path", http.logsURLPath),
                                 ("metrics_url_path", http.metricsURLPath)] where !path.hasPrefix("/") {
                h.problem(key, "must start with /")
            }
            s.http = http
        }
        if s.grpc == nil && s.http == nil {
            protocols.sink.add(protocols.node, "must specify at least one protocol when using the OTLP receiver (protocols.grpc or protocols.http)")
        }
        return s
    }

    private func endpoint(_ reader: ConfigReader, default value: String) -> String {
        let text = reader.string("endpoint", default: value)
        if EndpointText.parse(text) == nil {
            reader.problem("endpoint", "invalid endpoint \"\(text)\" (expected host:port)")
        }
        return text
    }

    private func ignoreAll(_ reader: ConfigReader) {
        for (key, _) in reader.node.mapping ?? [] { _ = reader.raw(key) }
    }
}

/// `host:port` syntax check used at config time (the transport parses it for real).
enum EndpointText {
    static func parse(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        return (host, port)
    }
}

extension OTLPFactory {
    public func makeReceiver(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Receiver {
        let s = try context.settings(settings, as: OTLPSettings.self)
        for (id, proto) in [(s.grpc?.auth, "grpc"), (s.http?.auth, "http")] {
            if let id { try AuthenticatorRegistry.validate(id, in: context.config, for: "receiver \(context.id) protocols.\(proto).auth") }
        }
        return OTLPReceiver(name: context.id.description, settings: s, metrics: context.metrics, logger: context.logger,
                            authenticators: context.host.service(AuthenticatorRegistry.self) ?? AuthenticatorRegistry())
    }
}
