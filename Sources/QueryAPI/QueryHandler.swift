import Store
import OTLPCodec

/// The query API as a pure function: (method, path, query string, `Accept`) -> (status,
/// content type, body), over a `TraceReader`. `QueryExtension` serves it over HTTP; tests call
/// it directly. Thread-safe (a value type holding a `Sendable` reader); it blocks while the
/// reader reads, so the server calls it off its network threads.
///
/// ## Endpoints (all `GET`; `HEAD` too; other methods get 405)
///
/// Jaeger's query API (the JSON that Jaeger UI and Grafana's Jaeger data source read; the
/// envelope is in `JaegerEnvelope`, the trace model in `JaegerJSON`):
/// - `/api/services`: service names, `{"data":["checkout","frontend"],"total":2,...}`.
/// - `/api/services/{service}/operations`: span names of a service, same shape.
/// - `/api/operations?service=S`: `{"data":[{"name":"GET /cart","spanKind":""}],...}`.
/// - `/api/dependencies?endTs=&lookback=`: the service graph of the stored traces in the window,
///   `{"data":[{"parent":"frontend","child":"checkout","callCount":3}],...}` (see
///   `dependencies`).
/// - `/api/traces/{traceID}`: `{"data":[<trace>],...}`. The trace's log records are shown
///   as span logs (under their span, else under the root span); `logs=false` leaves them out.
/// - `/api/traces?service=&operation=&tags=&start=&end=&minDuration=&maxDuration=&limit=`
///   (parameters in `SearchParameters.jaeger`): `{"data":[<trace>...],...}`, newest first.
///   Errors: `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":".."}]}`
///   with the same HTTP status (400 bad parameter, 404 `trace not found`, 500).
///
/// Tempo's API (what Grafana's Tempo data source reads):
/// - `/api/traces/{traceID}` with `Accept: application/protobuf`: the trace as OTLP protobuf
///   (`tempopb.Trace`, wire-identical to `ExportTraceServiceRequest`). Since Jaeger uses the
///   same path, JSON there is Jaeger's by default; Tempo's JSON (`{"batches":[...]}`, OTLP/JSON)
///   is served with the query parameter `format=tempo` (`format=jaeger` is the default).
/// - `/api/v2/traces/{traceID}`: `{"trace":{"resourceSpans":[...]}}` (OTLP/JSON), or with
///   `Accept: application/protobuf` a `TraceByIDResponse` protobuf.
/// - `/api/search?tags=&minDuration=&maxDuration=&limit=&start=&end=` (parameters in
///   `SearchParameters.tempo`): `{"traces":[...],"metrics":{...}}` (`TempoFormat.search`).
/// - `/api/echo`: `echo` (Grafana's connection test).
/// Tempo endpoints answer errors as plain text (`trace not found`, the 400 reason).
///
/// collectord's own:
/// - `/api/traces/{traceID}/logs`: the trace's log records as OTLP/JSON
///   (`{"resourceLogs":[...]}`; `{"resourceLogs":[]}` when the trace has none), or as an
///   `ExportLogsServiceRequest` protobuf with `Accept: application/protobuf`. 404 only when
///   nothing at all is stored for the id.
///
/// Trace ids are 1 to 32 hex digits, left-padded with zeros (`TraceIDParameter`); a bad id is
/// a 400. A trace is "not found" (404) when no span of it is stored (its log records alone
/// are only served by `/logs`).
public struct QueryHandler: Sendable {
    public let reader: any TraceReader
    /// What this handler's reads may take; a handler is made per request with its own.
    public let budget: ReadBudget

    public init(reader: any TraceReader, budget: ReadBudget = .unlimited) {
        self.reader = reader
        self.budget = budget
    }

    /// The same reader with another request's budget.
    public func with(_ budget: ReadBudget) -> QueryHandler { QueryHandler(reader: reader, budget: budget) }

    /// Answers one request. `query` is the raw query string (without `?`), `accept` the
    /// `Accept` header.
    public func handle(method: String, path: String, query: String?, accept: String?) -> QueryResponse {
        guard method == "GET" || method == "HEAD" else {
            return .text(405, "method \(method) is not allowed; the query API answers GET")
        }
        let p = QueryParameters(query)
        let segments = path.split(separator: "/").map { QueryParameters.decode($0, plusIsSpace: false) }
        switch segments.count {
        case 2 where segments == ["api", "services"]:
            return .json(JaegerEnvelope.strings(reader.services()))
        case 2 where segments == ["api", "operations"]:
            return operations(p)
        case 2 where segments == ["api", "dependencies"]:
            return dependencies(p)
        case 2 where segments == ["api", "traces"]:
            return jaegerSearch(p)
        case 2 where segments == ["api", "search"]:
            return tempoSearch(p)
        case 4 where segments == ["api", "collectord", "v1", "search"]:
            guard let query = PeerSearch.query(p) else { return .text(400, "malformed peer search parameters") }
            return QueryResponse(status: 200, contentType: QueryResponse.plain, body: PeerSearch.lines(reader.search(query, budget: budget)))
        case 4 where segments == ["api", "collectord", "v1", "sli"]:
            return sli(p)
        case 3 where segments == ["api", "search", "tags"]:
            return tagNames(p, v2: false)
        case 4 where segments == ["api", "v2", "search", "tags"]:
            return tagNames(p, v2: true)
        case 5 where segments[0] == "api" && segments[1] == "search" && segments[2] == "tag" && segments[4] == "values":
            return tagValues(segments[3], p, v2: false)
        case 6 where segments[0] == "api" && segments[1] == "v2" && segments[2] == "search" && segments[3] == "tag" && segments[5] == "values":
            return tagValues(segments[4], p, v2: true)
        case 3 where segments == ["api", "status", "buildinfo"]:
            return buildInfo()
        case 2 where segments == ["api", "echo"]:
            return QueryResponse(status: 200, contentType: QueryResponse.plain, body: Array("echo".utf8))
        case 3 where segments[0] == "api" && segments[1] == "traces":
            return traceByID(segments[2], accept: accept, p)
        case 4 where segments[0] == "api" && segments[1] == "services" && segments[3] == "operations":
            return .json(JaegerEnvelope.strings(reader.operations(service: segments[2])))
        case 4 where segments[0] == "api" && segments[1] == "traces" && segments[3] == "logs":
            return logs(segments[2], accept: accept)
        case 4 where segments[0] == "api" && segments[1] == "v2" && segments[2] == "traces":
            return tempoTraceByID(segments[3], accept: accept)
        default:
            return .text(404, "404 page not found")
        }
    }

    /// How `/api/traces/{id}` answers (see the type's documentation).
    enum Flavor: Equatable {
        case jaeger, tempoJSON, protobuf
    }

    static func flavor(accept: String?, format: String?) throws(ParameterError) -> Flavor {
        if acceptsProtobuf(accept) { return .protobuf }
        switch format {
        case nil, "jaeger": return .jaeger
        case "tempo": return .tempoJSON
        case let other?:
            throw ParameterError("unknown format \(TraceIDParameter.quoted(other)): expected jaeger or tempo")
        }
    }

    /// Whether an `Accept` header asks for protobuf (`application/protobuf` or
    /// `application/x-protobuf`, with a quality other than `q=0`).
    static func acceptsProtobuf(_ accept: String?) -> Bool {
        guard let accept else { return false }
        return accept.split(separator: ",").contains { range in
            let parts = range.split(separator: ";").map { trimmed($0).lowercased() }
            guard let type = parts.first, type == "application/protobuf" || type == "application/x-protobuf" else {
                return false
            }
            return !parts.dropFirst().contains { $0.hasPrefix("q=") && Double($0.dropFirst(2)) == 0 }
        }
    }

    /// `text` without leading and trailing spaces and tabs.
    static func trimmed(_ text: Substring) -> String {
        var s = text
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
