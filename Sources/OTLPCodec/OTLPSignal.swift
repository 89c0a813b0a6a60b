/// The OTLP signals this module encodes and decodes.
///
/// Every payload in this module is a serialized export request of one signal:
/// `ExportTraceServiceRequest` for `.traces`, `ExportLogsServiceRequest` for `.logs`,
/// `ExportMetricsServiceRequest` for `.metrics`. All have the same three-level shape (field
/// numbers in parentheses):
///
///     Export*ServiceRequest { resource_* (1) }
///     Resource*             { resource (1), scope_* (2), schema_url (3) }
///     Scope*                { scope (1), spans / log_records / metrics (2), schema_url (3) }
///
/// A metric's items are its data points, one level further down: `Metric` holds one of
/// gauge (5), sum (7), histogram (9), exponential_histogram (10), summary (11), each of which
/// holds `data_points` (1). Counts of metrics requests are data points, as the OTel Collector
/// counts them (`otelcol_receiver_accepted_metric_points`).
///
/// The raw values are the pipeline signal names (`CollectorCore.Signal`'s), so components
/// map one to the other with `OTLPSignal(signal)`.
public enum OTLPSignal: String, Sendable, Hashable, CaseIterable {
    case traces
    case logs
    case metrics

    /// The OTLP signal of a pipeline signal (`CollectorCore.Signal`, whose cases have the same
    /// names; a test holds them equal).
    public init<S: RawRepresentable>(_ signal: S) where S.RawValue == String {
        guard let same = OTLPSignal(rawValue: signal.rawValue) else {
            preconditionFailure("no OTLP signal named \(signal.rawValue)")
        }
        self = same
    }

    /// Name of the request message, for error messages: `ExportTraceServiceRequest`.
    public var requestMessageName: String {
        switch self {
        case .traces: "ExportTraceServiceRequest"
        case .logs: "ExportLogsServiceRequest"
        case .metrics: "ExportMetricsServiceRequest"
        }
    }

    /// Name of the response message: `ExportTraceServiceResponse`.
    public var responseMessageName: String {
        switch self {
        case .traces: "ExportTraceServiceResponse"
        case .logs: "ExportLogsServiceResponse"
        case .metrics: "ExportMetricsServiceResponse"
        }
    }

    /// The gRPC method of the export service: `/opentelemetry.proto.collector.trace.v1.TraceService/Export`.
    public var grpcPath: String {
        switch self {
        case .traces: "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
        case .logs: "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
        case .metrics: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
        }
    }

    /// The OTLP/HTTP path: `/v1/traces`.
    public var httpPath: String { "/v1/\(rawValue)" }

    /// Name of one item: `span` or `log record`.
    var itemName: String {
        switch self {
        case .traces: "span"
        case .logs: "log record"
        case .metrics: "data point"
        }
    }
}

/// The number of entries at each level of one export request.
public struct OTLPCounts: Sendable, Hashable, CustomStringConvertible {
    /// `ResourceSpans` / `ResourceLogs` / `ResourceMetrics` entries.
    public var resources: Int
    /// `ScopeSpans` / `ScopeLogs` entries, over all resources.
    public var scopes: Int
    /// Spans / log records / metric data points, over all scopes.
    public var items: Int

    public init(resources: Int = 0, scopes: Int = 0, items: Int = 0) {
        self.resources = resources
        self.scopes = scopes
        self.items = items
    }

    public var description: String { "\(resources) resources, \(scopes) scopes, \(items) items" }
}
