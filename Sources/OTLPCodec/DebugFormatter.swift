/// Renders OTLP requests as text for the `debug` exporter, in a stable line-oriented format
/// that end-to-end tests compare exactly with what a client sent.
///
/// # Format
///
/// Every verbosity starts with one summary line (this is all of `.basic`):
///
///     Traces: 2 resource spans, 3 scope spans, 17 spans
///     Logs: 1 resource logs, 1 scope logs, 4 log records
///
/// `.normal` adds one line per span / log record, fields in this fixed order:
///
///     span service="checkout" name="GET /cart" trace_id=5b8efff798038103d269b633813fc60c span_id=eee19b7ec3c1b174 parent_span_id=<empty> kind=SPAN_KIND_SERVER duration=1500000ns status=STATUS_CODE_ERROR status_message="boom"
///     log service="checkout" time=2023-11-14T22:13:20.000000000Z severity=SEVERITY_NUMBER_WARN severity_text="WARN" body=Str("disk 91% full") trace_id=5b8efff798038103d269b633813fc60c span_id=eee19b7ec3c1b174
///
/// `.detailed` adds, after the summary, every entry with all its fields, one `name: value` per
/// line, nested by two spaces per level (fields with default values are printed too):
///
///     Traces: 1 resource spans, 1 scope spans, 1 spans
///     ResourceSpans #0
///       schema_url: "https://opentelemetry.io/schemas/1.21.0"
///       resource.dropped_attributes_count: 0
///       resource.attributes:
///         -> service.name: Str("checkout")
///         -> host.cpus: Int(8)
///       ScopeSpans #0
///         schema_url: ""
///         scope.name: "io.opentelemetry.http"
///         scope.version: "1.2.3"
///         scope.dropped_attributes_count: 0
///         scope.attributes:
///         Span #0
///           trace_id: 5b8efff798038103d269b633813fc60c
///           span_id: eee19b7ec3c1b174
///           parent_span_id: <empty>
///           trace_state: "rojo=00f067aa0ba902b7"
///           flags: 257
///           name: "GET /cart"
///           kind: SPAN_KIND_SERVER
///           start_time_unix_nano: 1700000000000000000 (2023-11-14T22:13:20.000000000Z)
///           end_time_unix_nano: 1700000000001500000 (2023-11-14T22:13:20.001500000Z)
///           status.code: STATUS_CODE_ERROR
///           status.message: "boom"
///           dropped_attributes_count: 0
///           dropped_events_count: 0
///           dropped_links_count: 0
///           attributes:
///             -> http.status_code: Int(500)
///             -> tags: Array(["a", 1, true, 2.5])
///             -> "key with spaces": Map({k: "v", nested: [Bytes(00ff), Empty()]})
///           Event #0
///             name: "exception"
///             time_unix_nano: 1700000000001000000 (2023-11-14T22:13:20.001000000Z)
///             dropped_attributes_count: 0
///             attributes:
///               -> exception.message: Str("line 1\nline 2")
///           Link #0
///             trace_id: 0af7651916cd43dd8448eb211c80319c
///             span_id: b7ad6b7169203331
///             trace_state: ""
///             flags: 0
///             dropped_attributes_count: 0
///             attributes:
///
/// and for logs, under `ResourceLogs #i` / `ScopeLogs #j` (same resource and scope lines):
///
///         LogRecord #0
///           time_unix_nano: 1700000000000000000 (2023-11-14T22:13:20.000000000Z)
///           observed_time_unix_nano: 1700000000000000500 (2023-11-14T22:13:20.000000500Z)
///           severity_number: SEVERITY_NUMBER_WARN
///           severity_text: "WARN"
///           event_name: ""
///           body: Str("disk 91% full")
///           trace_id: 5b8efff798038103d269b633813fc60c
///           span_id: eee19b7ec3c1b174
///           flags: 1
///           dropped_attributes_count: 0
///           attributes:
///             -> disk.used: Double(0.91)
///
/// Rules, so each line can be parsed on its own:
/// - a line is `name: value`, a section header ending in `:` (its entries follow, one level
///   deeper), an `Xxx #n` entry header, or an attribute `-> key: Value`;
/// - quoted text is a JSON string literal (`"a\"b\n"`: `json.loads` reads it back); invalid
///   UTF-8 shows as U+FFFD;
/// - a key is bare when non-empty and made of ASCII letters, digits and `_ . - / @`, else a
///   JSON string literal; attributes appear in received order, duplicates included;
/// - attribute values carry their type: `Str("x")`, `Bool(true)`, `Int(-3)`, `Double(2.5)`,
///   `Bytes(00ff)` (lowercase hex), `Array([...])`, `Map({...})`, `Empty()` (no value set),
///   `StrIndex(n)`; inside arrays and maps the elements are `"x"`, `true`, `-3`, `2.5`
///   (a double always has a `.` or an exponent, or is `NaN`/`+Inf`/`-Inf`), `Bytes(00ff)`,
///   `[...]`, `{k: v}`, `Empty()`, separated by `, `;
/// - ids are lowercase hex, `<empty>` when absent; enums are their proto names
///   (`SPAN_KIND_SERVER`), or the number when not a known value; integers are decimal;
/// - times are nanoseconds since the epoch and RFC 3339 UTC with 9 fractional digits;
///   `duration` is end minus start in nanoseconds (negative if end < start);
/// - `service` is the resource's `service.name` string attribute, `""` when absent;
/// - an absent resource or scope prints like an empty one; `resource.entity_refs:` appears
///   only when there are some (one `-> EntityRef type=".." schema_url=".." id_keys=[..]
///   description_keys=[..]` line each);
/// - every line, the last included, ends with `\n`.
public struct DebugFormatter: Sendable {
    public enum Verbosity: Sendable, Hashable {
        /// The summary line only.
        case basic
        /// The summary and one line per span / log record.
        case normal
        /// The summary and every field of every entry.
        case detailed
    }

    public let verbosity: Verbosity

    public init(verbosity: Verbosity) {
        self.verbosity = verbosity
    }

    /// Formats `protobuf`, a serialized request of `signal`. Throws `.malformedProtobuf`
    /// when the bytes are not a valid request. Thread-safe.
    public func format(_ signal: OTLPSignal, protobuf: [UInt8]) throws(OTLPDecodeError) -> String {
        let schema = OTLPSchema.shared
        if verbosity == .basic {
            let counts = try OTLPValidator.counts(signal, protobuf: protobuf)
            var out = DebugText()
            summary(signal, counts, into: &out)
            return out.string
        }
        return try ArenaPool.shared.withUnpacked(
            message: schema.request(signal), messageName: signal.requestMessageName, protobuf
        ) { request in
            var out = DebugText()
            switch signal {
            case .traces: formatTraces(request, into: &out)
            case .logs: formatLogs(request, into: &out)
            case .metrics: formatMetrics(request, into: &out)
            }
            return out.string
        }
    }

    /// Same as `format(_:protobuf:)`.
    public func format(_ signal: OTLPSignal, _ bytes: [UInt8]) throws(OTLPDecodeError) -> String {
        try format(signal, protobuf: bytes)
    }

    func summary(_ signal: OTLPSignal, _ counts: OTLPCounts, into out: inout DebugText) {
        switch signal {
        case .traces:
            out.text("Traces: \(counts.resources) resource spans, \(counts.scopes) scope spans, \(counts.items) spans")
        case .logs:
            out.text("Logs: \(counts.resources) resource logs, \(counts.scopes) scope logs, \(counts.items) log records")
        case .metrics:
            out.text("Metrics: \(counts.resources) resource metrics, \(counts.scopes) scope metrics, \(counts.items) data points")
        }
        out.newline()
    }
}
