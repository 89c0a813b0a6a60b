import BackendResolver
import CollectorCore
import ExporterHelper
import TLSSettings

/// Settings of the `otlp` exporter (OTLP over gRPC), with the OTel Collector's names and
/// defaults: TLS unless `tls.insecure`, gzip, a 5 s timeout.
///
/// ```yaml
/// exporters:
///   otlp:
///     endpoint: gateway:4317
///     tls: {insecure: false, ca_file: ca.pem, cert_file: c.pem, key_file: k.pem, server_name_override: gw}
///     headers: {x-tenant: a}
///     compression: gzip          # zstd, none
///     timeout: 5s
///     retry_on_failure: {enabled: true, initial_interval: 5s, max_interval: 30s, max_elapsed_time: 300s}
///     sending_queue: {storage: /var/lib/collectord/otlp}
/// ```
public struct OTLPExporterSettings: ComponentSettings, Equatable {
    public enum Compression: String, Sendable, Equatable { case gzip, zstd, none }

    /// `host:port` (a `http://` or `https://` prefix is accepted and dropped; port 4317 when absent).
    public var endpoint = ""
    public var tls = TLSClientSettings()
    public var headers: [String: String] = [:]
    public var compression = Compression.gzip
    public var timeout: UInt64 = 5_000_000_000
    public var retry = RetrySettings()
    public var queue = QueueSettings()
    /// What the disk queue's sender puts in one request at most (queued requests are merged).
    public var batchMaxBytes = 4 << 20
    public var shutdownTimeout: UInt64 = 5_000_000_000

    public init() {}

    /// The host and port to dial.
    public var hostAndPort: (host: String, port: Int)? {
        var text = endpoint
        for scheme in ["http://", "https://", "dns:///"] where text.hasPrefix(scheme) { text.removeFirst(scheme.count) }
        while text.hasSuffix("/") { text.removeLast() }
        let full = endpointWithPort(text, 4317)
        guard let colon = full.lastIndex(of: ":"), let port = Int(full[full.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        var host = String(full[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }
}

public struct OTLPExporterFactory: ExporterFactory {
    public init() {}
    public var type: String { "otlp" }
    public var kind: ComponentKind { .exporter }
    public var signals: Set<Signal> { [.traces, .logs, .metrics] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = OTLPExporterSettings()
        Self.read(reader, into: &s)
        if s.endpoint.isEmpty {
            reader.sink.add(reader.node, "requires a non-empty \"endpoint\"")
        } else if s.hostAndPort == nil {
            reader.problem("endpoint", "expected host:port, found \"\(s.endpoint)\"")
        }
        return s
    }

    /// The keys of an `otlp` exporter; also `protocol.otlp` of the `loadbalancing` exporter,
    /// whose endpoint comes from its resolver.
    public static func read(_ reader: ConfigReader, into s: inout OTLPExporterSettings) {
        s.endpoint = reader.string("endpoint", default: "")
        s.tls = reader.tlsClientSettings()
        if s.endpoint.hasPrefix("http://") { s.tls.insecure = true }
        if let headers = reader.section("headers") {
            for (key, _) in headers.node.mapping ?? [] { s.headers[key] = headers.string(key, default: "") }
        }
        switch reader.string("compression", default: "gzip") {
        case "gzip": s.compression = .gzip
        case "zstd": s.compression = .zstd
        case "none", "": s.compression = .none
        case let other: reader.problem("compression", "\"\(other)\" is not one of gzip, zstd, none")
        }
        s.timeout = reader.duration("timeout", default: s.timeout)
        if s.timeout == 0 { reader.problem("timeout", "must be more than 0") }
        reader.retrySettings(&s.retry)
        reader.queueSettings(&s.queue)
        s.shutdownTimeout = reader.duration("shutdown_timeout", default: s.shutdownTimeout)
        for key in ["balancer_name", "authority", "auth", "write_buffer_size", "read_buffer_size", "wait_for_ready"] { _ = reader.raw(key) }
        _ = reader.section("keepalive").map { k in for (key, _) in k.node.mapping ?? [] { _ = k.raw(key) } }
    }
}

extension OTLPExporterFactory {
    public func makeExporter(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Exporter {
        try OTLPExporter(settings: try context.settings(settings, as: OTLPExporterSettings.self), name: context.id.description,
                         logger: context.logger, metrics: context.metrics)
    }
}
