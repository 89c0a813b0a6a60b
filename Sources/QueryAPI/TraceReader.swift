import OTLPCodec
import Store

/// What the query API reads: whole traces by id, the service and operation names, and search.
///
/// Implemented by `TraceStore` (see `TraceStore+TraceReader.swift`) and by in-memory fakes in
/// tests. Contract for implementations:
/// - every method may be called from any number of threads at once (requests are served
///   concurrently) and may block on disk I/O: the extension calls them off the network threads;
/// - `trace(id:)` returns serialized OTLP requests that hold exactly the trace's spans
///   (`ExportTraceServiceRequest`) and log records (`ExportLogsServiceRequest`), each once;
///   either may be empty (no bytes). nil means nothing at all is stored for the id;
/// - the bytes are trusted to be valid OTLP protobuf (they were validated at ingestion); a
///   reader that hands out something else gets a 500 answer, never a crash;
/// - `trace` and `search` read at most what `budget` admits (deadline, blocks, cancellation)
///   and then return what they found; `budget.stop` then says the answer is partial.
public protocol TraceReader: Sendable {
    /// The spans and log records of trace `id` (16 bytes), or nil when none is stored.
    func trace(id: [UInt8], budget: ReadBudget) -> (spans: [UInt8], logs: [UInt8])?

    /// Service names with spans stored, sorted.
    func services() -> [String]

    /// Span names of `service`, sorted.
    func operations(service: String) -> [String]

    /// Traces matching `query`, newest first, at most `query.limit`.
    func search(_ query: TraceQuery, budget: ReadBudget) -> [TraceSummary]
}

/// A trace search, as both the Jaeger (`/api/traces?service=`) and the Tempo (`/api/search`)
/// endpoints express it. Every condition is optional; see
/// `TraceStore.search(service:operation:tags:minDuration:maxDuration:start:end:limit:)` for
/// the exact matching rules (service, operation and tags are checked on one same span; the
/// duration is the whole trace's; the time range must overlap the trace).
public struct TraceQuery: Sendable, Hashable {
    public var service: String?
    public var operation: String?
    /// Attribute conditions `key == value` (span or resource attributes); `error=true` also
    /// matches spans whose status is ERROR.
    public var tags: [String: String]
    /// Numeric attribute conditions (`>`, `>=`, `<`, `<=`), on the same span as the tags.
    public var numeric: [OTLPSpanQuery.NumericCondition]
    public var minDuration: Duration?
    public var maxDuration: Duration?
    /// Time range, unix nanoseconds (inclusive).
    public var start: UInt64?
    public var end: UInt64?
    /// At most this many traces (at least 1).
    public var limit: Int

    public init(
        service: String? = nil, operation: String? = nil, tags: [String: String] = [:],
        numeric: [OTLPSpanQuery.NumericCondition] = [], minDuration: Duration? = nil, maxDuration: Duration? = nil,
        start: UInt64? = nil, end: UInt64? = nil, limit: Int = 20
    ) {
        self.service = service
        self.operation = operation
        self.tags = tags
        self.numeric = numeric
        self.minDuration = minDuration
        self.maxDuration = maxDuration
        self.start = start
        self.end = end
        self.limit = limit
    }
}
