import CollectorCore
import ExporterHelper
import HTTPClient

/// Settings of the `loki` exporter. Every field has its default here (complete defaults, as in
/// the OTel Collector's factories); `LokiFactory.parseSettings` reads and validates them.
///
/// ```yaml
/// exporters:
///   loki:
///     endpoint: http://loki:3100/loki/api/v1/push   # or https://...
///     tls: {ca_file: /etc/ca.pem, cert_file: c.pem, key_file: k.pem, insecure_skip_verify: false, server_name_override: loki}
///     format: protobuf            # or json
///     tenant_id: team-a           # sent as X-Scope-OrgID
///     headers: {Authorization: "Bearer x"}
///     labels:
///       resource: [service.name, k8s.namespace.name]   # resource attributes -> labels
///       attributes: [level]                            # record attributes -> labels
///     batch_max_bytes: 1048576
///     batch_timeout: 1s
///     timeout: 5s
///     retry_on_failure: {enabled: true, initial_interval: 5s, max_interval: 30s, max_elapsed_time: 300s}
///     sending_queue:
///       storage: /var/lib/collectord/loki   # a directory: the persistent disk queue
///       sync: always                         # or none: fsync each enqueued batch
///       segment_max_bytes: 8388608
///     shutdown_timeout: 5s
/// ```
public struct LokiSettings: ComponentSettings, Equatable {
    public enum Format: String, Sendable, Equatable { case protobuf, json }

    public var endpoint = "http://localhost:3100/loki/api/v1/push"
    /// Used for `https://` endpoints.
    public var tls = TLSClientSettings()
    public var format = Format.protobuf
    public var tenantID: String?
    public var headers: [String: String] = [:]
    /// Resource attribute keys whose values become labels (names sanitized).
    public var resourceLabels: [String] = ["service.name"]
    /// Log record attribute keys whose values become labels (names sanitized).
    public var attributeLabels: [String] = []
    /// A request holds at most this many bytes of queued OTLP data (at least one queued batch).
    public var batchMaxBytes = 1 << 20
    /// How long the sender waits for more data before sending a request that is not full (ns).
    public var batchTimeout: UInt64 = 1_000_000_000
    /// Deadline of one HTTP request (ns).
    public var timeout: UInt64 = 5_000_000_000
    public var retry = RetrySettings()
    /// `sending_queue.storage`: the disk queue's directory; nil keeps no queue (see `LokiExporter`).
    public var storage: String?
    /// `sending_queue.sync`: fsync every enqueued batch before `export` returns.
    public var syncEveryBatch = true
    public var segmentMaxBytes = 8 << 20
    /// How long `shutdown` keeps sending what is queued before leaving it on disk (ns).
    public var shutdownTimeout: UInt64 = 5_000_000_000

    public init() {}
}

public struct LokiFactory: ExporterFactory {
    public init() {}
    public var type: String { "loki" }
    public var kind: ComponentKind { .exporter }
    public var signals: Set<Signal> { [.logs] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = LokiSettings()
        s.endpoint = reader.string("endpoint", default: s.endpoint)
        if LokiEndpoint.parse(s.endpoint) == nil {
            reader.problem("endpoint", "expected http[s]://host[:port]/path, found \"\(s.endpoint)\"")
        }
        s.tls = reader.tlsClientSettings()
        s.format = LokiSettings.Format(rawValue: reader.choice("format", ["protobuf", "json"], default: "protobuf")) ?? .protobuf
        let tenant = reader.string("tenant_id", default: "")
        s.tenantID = tenant.isEmpty ? nil : tenant
        if let headers = reader.section("headers") {
            for (key, _) in headers.node.mapping ?? [] {
                s.headers[key] = headers.string(key, default: "")
            }
        }
        if let labels = reader.section("labels") {
            s.resourceLabels = labels.stringList("resource")
            s.attributeLabels = labels.stringList("attributes")
        }
        s.batchMaxBytes = reader.int("batch_max_bytes", default: s.batchMaxBytes, range: 1024...(64 << 20))
        s.batchTimeout = reader.duration("batch_timeout", default: s.batchTimeout)
        s.timeout = reader.duration("timeout", default: s.timeout)
        if s.timeout == 0 { reader.problem("timeout", "must be more than 0") }
        s.shutdownTimeout = reader.duration("shutdown_timeout", default: s.shutdownTimeout)
        reader.retrySettings(&s.retry)
        var queue = QueueSettings()
        reader.queueSettings(&queue)
        s.storage = queue.storage
        s.syncEveryBatch = queue.syncEveryBatch
        s.segmentMaxBytes = queue.segmentMaxBytes
        return s
    }
}

extension LokiFactory {
    public func makeExporter(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Exporter {
        try LokiExporter(settings: try context.settings(settings, as: LokiSettings.self), name: context.id.description,
                         logger: context.logger, metrics: context.metrics)
    }
}
