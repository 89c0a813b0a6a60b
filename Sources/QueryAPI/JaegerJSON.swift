internal import CProtobufC
import OTLPCodec
internal import OTLPProto

/// OTLP spans (and, optionally, the trace's log records) as one trace in Jaeger's JSON model,
/// the shape Jaeger's query service (`/api/traces/{id}`) answers and Jaeger UI and Grafana's
/// Jaeger data source read.
///
/// Output (compact; field order as Jaeger writes it):
///
///     {"traceID":"<32 hex>","spans":[<span>...],"processes":{"p1":{"serviceName":"..","tags":[..]}},"warnings":null}
///     span: {"traceID","spanID","operationName","references":[{"refType":"CHILD_OF"|"FOLLOWS_FROM","traceID","spanID"}],
///            "startTime":<µs>,"duration":<µs>,"tags":[..],"logs":[{"timestamp":<µs>,"fields":[..]}],
///            "processID":"p1","warnings":null}
///
/// Mapping, as the OpenTelemetry Collector's Jaeger translator does it:
/// - one process per distinct resource (same `service.name` and same other attributes), named
///   `p1`, `p2`... in order of first appearance; `serviceName` is `service.name` (or
///   `unknown_service`, the name the store indexes such spans under), the other resource
///   attributes are its tags;
/// - ids are lowercase hex: trace ids always 32 digits, span ids 16;
/// - `references`: the parent (`CHILD_OF`, first) then each link (`FOLLOWS_FROM`);
/// - `tags`: `otel.scope.name`, `otel.scope.version` (when set), the span's attributes (types
///   in `JaegerTags`), `span.kind` (`client`, `server`, `producer`, `consumer`, `internal`;
///   none when unspecified), `otel.status_code` (`OK` / `ERROR`, none when unset), `error: true`
///   (bool) for status ERROR, `otel.status_description` (when non-empty), `w3c.tracestate`
///   (when non-empty);
/// - `logs`: each span event (`event` = its name, then its attributes) and each log record of
///   the trace (fields in `JaegerLogIndex`) whose span id is the span's, in time order. Records
///   without a span id, or with the id of a span that is not in the trace, go under the root
///   span (the earliest span without parent, else the earliest span).
public enum JaegerJSON {
    /// The Jaeger trace object for a serialized `ExportTraceServiceRequest` (`spans`) and the
    /// trace's serialized `ExportLogsServiceRequest` (`logs`, may be empty).
    /// Throws when either is not valid protobuf.
    public static func trace(spans: [UInt8], logs: [UInt8] = []) throws(QueryError) -> [UInt8] {
        let index = logs.isEmpty ? JaegerLogIndex() : try JaegerLogIndex(logs: logs)
        return try OTLPUnpacked.withTraces(spans) { request in
            var writer = JaegerTraceWriter(request: request, logs: index)
            return writer.write()
        }
    }
}

/// Writes one trace; see `JaegerJSON`.
private struct JaegerTraceWriter {
    let request: PBTraceRequest
    let logs: JaegerLogIndex
    var out: JSONOutput
    /// Process number (0-based) of each resource entry.
    var processOfResource: [Int] = []
    var processes: [[UInt8]] = []
    var known: Set<UInt64> = []
    var traceID = ""
    /// Ordinal of the root span (see `JaegerJSON`).
    var root: Int?

    init(request: PBTraceRequest, logs: JaegerLogIndex) {
        self.request = request
        self.logs = logs
        self.out = JSONOutput(capacity: 4096)
    }

    mutating func write() -> [UInt8] {
        survey()
        out.raw("{\"traceID\":")
        out.string(traceID)
        out.raw(",\"spans\":[")
        var first = true
        var ordinal = 0
        var resource = 0
        forEach(request.n_resource_spans, request.resource_spans) { resourceSpans in
            let process = processOfResource[resource]
            resource += 1
            forEach(resourceSpans.n_scope_spans, resourceSpans.scope_spans) { scopeSpans in
                forEach(scopeSpans.n_spans, scopeSpans.spans) { span in
                    out.comma(&first)
                    writeSpan(span, scope: scopeSpans.scope?.pointee, process: process, isRoot: ordinal == root)
                    ordinal += 1
                }
            }
        }
        out.raw("],\"processes\":{")
        for (i, process) in processes.enumerated() {
            if i > 0 { out.byte(UInt8(ascii: ",")) }
            out.key("p\(i + 1)")
            out.raw(process)
        }
        out.raw("},\"warnings\":null}")
        return out.bytes
    }

    /// First pass: processes, known span ids, the trace id, the root span.
    private mutating func survey() {
        var index: [[UInt8]: Int] = [:]
        var best: (parentless: Bool, start: UInt64)?
        var ordinal = 0
        forEach(request.n_resource_spans, request.resource_spans) { resourceSpans in
            let json = Self.process(resourceSpans.resource)
            let number = index[json] ?? processes.count
            if number == processes.count {
                processes.append(json)
                index[json] = number
            }
            processOfResource.append(number)
            forEach(resourceSpans.n_scope_spans, resourceSpans.scope_spans) { scopeSpans in
                forEach(scopeSpans.n_spans, scopeSpans.spans) { span in
                    let id = span.span_id.spanID
                    if id != 0 { known.insert(id) }
                    if traceID.isEmpty { traceID = span.trace_id.hex }
                    let parentless = span.parent_span_id.spanID == 0
                    let start = span.start_time_unix_nano
                    if best == nil || parentless && !best!.parentless
                        || parentless == best!.parentless && start < best!.start {
                        best = (parentless, start)
                        root = ordinal
                    }
                    ordinal += 1
                }
            }
        }
    }

    /// `{"serviceName":..,"tags":[..]}` of a resource.
    private static func process(_ resource: UnsafeMutablePointer<PBResource>?) -> [UInt8] {
        var out = JSONOutput(capacity: 256)
        out.raw("{\"serviceName\":")
        out.string(serviceName(resource) ?? OTLPScanner.unknownService)
        out.raw(",\"tags\":[")
        var first = true
        if let r = resource?.pointee {
            JaegerTags.attributes(&out, &first, r.n_attributes, r.attributes, skip: "service.name")
        }
        out.raw("]}")
        return out.bytes
    }

    private mutating func writeSpan(_ span: PBSpan, scope: PBScope?, process: Int, isRoot: Bool) {
        let traceHex = span.trace_id.hex
        out.raw("{\"traceID\":")
        out.string(traceHex)
        out.raw(",\"spanID\":")
        out.string(span.span_id.hex)
        out.raw(",\"operationName\":")
        out.string(cString: span.name)
        out.raw(",\"references\":[")
        var first = true
        if span.parent_span_id.spanID != 0 {
            reference(&first, "CHILD_OF", traceHex, span.parent_span_id.hex)
        }
        forEach(span.n_links, span.links) { link in
            reference(&first, "FOLLOWS_FROM", link.trace_id.hex, link.span_id.hex)
        }
        out.raw("],\"startTime\":")
        out.uint(span.start_time_unix_nano / 1000)
        out.raw(",\"duration\":")
        let end = span.end_time_unix_nano
        out.uint(end > span.start_time_unix_nano ? (end - span.start_time_unix_nano) / 1000 : 0)
        out.raw(",\"tags\":[")
        writeTags(span, scope: scope)
        out.raw("],\"logs\":[")
        writeLogs(span, isRoot: isRoot)
        out.raw("],\"processID\":")
        out.string("p\(process + 1)")
        out.raw(",\"warnings\":null}")
    }

    private mutating func reference(_ first: inout Bool, _ type: String, _ trace: String, _ span: String) {
        out.comma(&first)
        out.raw("{\"refType\":\"\(type)\",\"traceID\":")
        out.string(trace)
        out.raw(",\"spanID\":")
        out.string(span)
        out.byte(UInt8(ascii: "}"))
    }

    private mutating func writeTags(_ span: PBSpan, scope: PBScope?) {
        var first = true
        if let scope {
            let name = JSONOutput.text(scope.name)
            let version = JSONOutput.text(scope.version)
            if !name.isEmpty { JaegerTags.string(&out, &first, "otel.scope.name", name) }
            if !version.isEmpty { JaegerTags.string(&out, &first, "otel.scope.version", version) }
        }
        JaegerTags.attributes(&out, &first, span.n_attributes, span.attributes)
        let kinds = ["", "internal", "server", "client", "producer", "consumer"]
        let kind = Int(span.kind.rawValue)
        if kind > 0 && kind < kinds.count { JaegerTags.string(&out, &first, "span.kind", kinds[kind]) }
        let status = span.status?.pointee
        switch status?.code.rawValue ?? 0 {
        case 1:
            JaegerTags.string(&out, &first, "otel.status_code", "OK")
        case 2:
            JaegerTags.string(&out, &first, "otel.status_code", "ERROR")
            JaegerTags.bool(&out, &first, "error", true)
        default:
            break
        }
        let message = JSONOutput.text(status?.message)
        if !message.isEmpty { JaegerTags.string(&out, &first, "otel.status_description", message) }
        let traceState = JSONOutput.text(span.trace_state)
        if !traceState.isEmpty { JaegerTags.string(&out, &first, "w3c.tracestate", traceState) }
    }

    private mutating func writeLogs(_ span: PBSpan, isRoot: Bool) {
        var entries: [JaegerLogEntry] = []
        var order = 0
        forEach(span.n_events, span.events) { event in
            var fields = JSONOutput(capacity: 128)
            var first = true
            fields.byte(UInt8(ascii: "["))
            let name = JSONOutput.text(event.name)
            if !name.isEmpty { JaegerTags.string(&fields, &first, "event", name) }
            JaegerTags.attributes(&fields, &first, event.n_attributes, event.attributes)
            fields.byte(UInt8(ascii: "]"))
            entries.append(JaegerLogEntry(timestamp: event.time_unix_nano / 1000, source: .event, order: order,
                                          fields: fields.bytes))
            order += 1
        }
        let id = span.span_id.spanID
        if id != 0 { entries += logs.entries(of: id) }
        if isRoot { entries += logs.orphans(known: known) }
        entries.sort(by: <)
        var first = true
        for entry in entries {
            out.comma(&first)
            out.raw("{\"timestamp\":")
            out.uint(entry.timestamp)
            out.raw(",\"fields\":")
            out.raw(entry.fields)
            out.byte(UInt8(ascii: "}"))
        }
    }
}
