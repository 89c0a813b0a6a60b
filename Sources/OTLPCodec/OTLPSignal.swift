/// The OTLP signals this module encodes and decodes.
///
/// Every payload in this module is a serialized export request of one signal:
/// `ExportTraceServiceRequest` for `.traces`, `ExportLogsServiceRequest` for `.logs`.
/// Both have the same three-level shape (field numbers in parentheses):
///
///     Export*ServiceRequest { resource_* (1) }
///     Resource*             { resource (1), scope_* (2), schema_url (3) }
///     Scope*                { scope (1), spans / log_records (2), schema_url (3) }
public enum OTLPSignal: Sendable, Hashable, CaseIterable {
    case traces
    case logs

    /// Name of the request message, for error messages: `ExportTraceServiceRequest`.
    public var requestMessageName: String {
        switch self {
        case .traces: "ExportTraceServiceRequest"
        case .logs: "ExportLogsServiceRequest"
        }
    }

    /// Name of one item: `span` or `log record`.
    var itemName: String {
        switch self {
        case .traces: "span"
        case .logs: "log record"
        }
    }
}

/// The number of entries at each level of one export request.
public struct OTLPCounts: Sendable, Hashable, CustomStringConvertible {
    /// `ResourceSpans` / `ResourceLogs` entries.
    public var resources: Int
    /// `ScopeSpans` / `ScopeLogs` entries, over all resources.
    public var scopes: Int
    /// Spans / log records, over all scopes.
    public var items: Int

    public init(resources: Int = 0, scopes: Int = 0, items: Int = 0) {
        self.resources = resources
        self.scopes = scopes
        self.items = items
    }

    public var description: String { "\(resources) resources, \(scopes) scopes, \(items) items" }
}
