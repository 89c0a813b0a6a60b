import CollectorCore
import ExporterHelper
import HTTPClient

/// Settings of the `otlphttp` exporter, with the OTel Collector's names and defaults.
///
/// ```yaml
/// exporters:
///   otlphttp:
///     endpoint: https://gateway:4318          # /v1/traces, /v1/logs, /v1/metrics are appended
///     traces_endpoint: https://x/v1/traces    # or per signal, as they are
///     logs_endpoint: https://y/v1/logs
///     metrics_endpoint: https://z/v1/metrics
///     tls: {ca_file: ca.pem, cert_file: c.pem, key_file: k.pem, insecure_skip_verify: false}
///     headers: {Authorization: "Bearer t"}
///     compression: gzip                       # or none
///     encoding: proto                         # or json
///     timeout: 30s
///     retry_on_failure: {enabled: true, initial_interval: 5s, max_interval: 30s, max_elapsed_time: 300s}
///     sending_queue:
///       storage: /var/lib/collectord/otlphttp # the crash-safe disk queue (a directory)
/// ```
public struct OTLPHTTPSettings: ComponentSettings, Equatable {
    public enum Compression: String, Sendable, Equatable { case gzip, none }
    public enum Encoding: String, Sendable, Equatable { case proto, json }

    public var endpoint: String?
    public var tracesEndpoint: String?
    public var logsEndpoint: String?
    public var metricsEndpoint: String?
    public var tls = TLSClientSettings()
    public var headers: [String: String] = [:]
    public var compression = Compression.gzip
    public var encoding = Encoding.proto
    /// One request's deadline (ns).
    public var timeout: UInt64 = 30_000_000_000
    public var retry = RetrySettings()
    public var queue = QueueSettings()
    /// What the disk queue's sender puts in one request at most (queued requests are merged).
    public var batchMaxBytes = 4 << 20
    /// How long `shutdown` keeps sending what is queued before leaving it on disk (ns).
    public var shutdownTimeout: UInt64 = 5_000_000_000

    public init() {}

    /// The URL a signal is sent to: its own endpoint, else `endpoint` + `/v1/traces`,
    /// `/v1/logs` or `/v1/metrics`.
    public func url(for signal: Signal) -> String? {
        let own: String?
        switch signal {
        case .traces: own = tracesEndpoint
        case .logs: own = logsEndpoint
        case .metrics: own = metricsEndpoint
        }
        if let own { return own }
        guard var base = endpoint else { return nil }
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/v1/\(signal.rawValue)"
    }
}

public struct OTLPHTTPFactory: ExporterFactory {
    public init() {}
    public var type: String { "otlphttp" }
    public var kind: ComponentKind { .exporter }
    public var signals: Set<Signal> { [.traces, .logs, .metrics] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = OTLPHTTPSettings()
        func url(_ key: String) -> String? {
            let text = reader.string(key, default: "")
            guard !text.isEmpty else { return nil }
            if HTTPEndpoint(text) == nil { reader.problem(key, "expected http[s]://host[:port][/path], found \"\(text)\"") }
            return text
        }
        s.endpoint = url("endpoint")
        s.tracesEndpoint = url("traces_endpoint")
        s.logsEndpoint = url("logs_endpoint")
        s.metricsEndpoint = url("metrics_endpoint")
        if s.endpoint == nil && s.tracesEndpoint == nil && s.logsEndpoint == nil && s.metricsEndpoint == nil {
            reader.sink.add(reader.node, "at least one endpoint must be specified (endpoint, or traces_endpoint, logs_endpoint, metrics_endpoint)")
        }
        s.tls = reader.tlsClientSettings()
        if let headers = reader.section("headers") {
            for (key, _) in headers.node.mapping ?? [] { s.headers[key] = headers.string(key, default: "") }
        }
        switch reader.string("compression", default: "gzip") {
        case "gzip": s.compression = .gzip
        case "none", "": s.compression = .none
        case let other: reader.problem("compression", "\"\(other)\" is not one of gzip, none")
        }
        s.encoding = OTLPHTTPSettings.Encoding(rawValue: reader.choice("encoding", ["proto", "json"], default: "proto")) ?? .proto
        s.timeout = reader.duration("timeout", default: s.timeout)
        if s.timeout == 0 { reader.problem("timeout", "must be more than 0") }
        reader.retrySettings(&s.retry)
        reader.queueSettings(&s.queue)
        s.shutdownTimeout = reader.duration("shutdown_timeout", default: s.shutdownTimeout)
        return s
    }
}

extension OTLPHTTPFactory {
    public func makeExporter(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Exporter {
        try OTLPHTTPExporter(settings: try context.settings(settings, as: OTLPHTTPSettings.self), name: context.id.description,
                             logger: context.logger, metrics: context.metrics)
    }
}
