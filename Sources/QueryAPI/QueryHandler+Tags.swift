import OTLPCodec
import Store

/// Tempo's tag endpoints, as Grafana's Tempo data source calls them for autocompletion, read
/// from the newest `tagTraceLimit` traces in the range (`start`, `end`: unix seconds), as Tempo
/// reads its recent blocks:
/// - `/api/search/tags`: `{"tagNames":[...]}` (span and resource attribute names);
/// - `/api/v2/search/tags?scope=span|resource|intrinsic`: `{"scopes":[{"name":"span","tags":[...]},...]}`;
/// - `/api/search/tag/{tag}/values`: `{"tagValues":["..."]}`;
/// - `/api/v2/search/tag/{tag}/values`: `{"tagValues":[{"type":"string","value":"..."}]}`, the
///   tag scoped (`resource.service.name`, `span.http.method`, `.x`) or an intrinsic (`name`,
///   `status`, `kind`, `rootName`, `rootServiceName`);
/// - `/api/status/buildinfo`: the Tempo API level this answers as.
extension QueryHandler {
    static let tagTraceLimit = 1000
    static let tagValueLimit = 1000
    static let intrinsicTags = ["duration", "kind", "name", "rootName", "rootServiceName", "status", "statusMessage", "traceDuration"]

    private func recentTraces(_ p: QueryParameters) -> [TraceQLTrace] {
        let start = p["start"].flatMap { UInt64($0) }.map { $0 * 1_000_000_000 }
        let end = p["end"].flatMap { UInt64($0) }.map { $0 * 1_000_000_000 }
        return reader.search(TraceQuery(start: start, end: end, limit: Self.tagTraceLimit), budget: budget).compactMap { summary in
            reader.trace(id: summary.traceID.bytes, budget: budget).map { TraceQLTrace(spans: $0.spans) }
        }
    }

    func tagNames(_ p: QueryParameters, v2: Bool) -> QueryResponse {
        var span = Set<String>(), resource = Set<String>()
        for trace in recentTraces(p) {
            for s in trace.spans { for a in s.attributes { span.insert(a.key) } }
            for r in trace.resources { for a in r { resource.insert(a.key) } }
        }
        var out = JSONOutput(capacity: 256)
        if !v2 {
            out.raw("{\"tagNames\":")
            Self.strings(&out, span.union(resource).sorted())
            out.raw("}")
            return .json(out.bytes)
        }
        let scope = p["scope"] ?? "all"
        guard ["all", "span", "resource", "intrinsic", ""].contains(scope) else {
            return .text(400, "scope must be span, resource, intrinsic or all")
        }
        out.raw("{\"scopes\":[")
        var first = true
        for (name, tags) in [("span", span.sorted()), ("resource", resource.sorted()), ("intrinsic", Self.intrinsicTags)]
        where scope == "all" || scope.isEmpty || scope == name {
            out.comma(&first)
            out.raw("{\"name\":")
            out.string(name)
            out.raw(",\"tags\":")
            Self.strings(&out, tags)
            out.raw("}")
        }
        out.raw("]}")
        return .json(out.bytes)
    }

    func tagValues(_ tag: String, _ p: QueryParameters, v2: Bool) -> QueryResponse {
        var values: [String: String] = [:]   // value -> type
        func add(_ v: TraceQLTrace.Value) {
            switch v {
            case .string(let s): values[s] = "string"
            case .int(let i): values[String(i)] = "int"
            case .double(let d): values[String(d)] = "float"
            case .bool(let b): values[String(b)] = "bool"
            case .other: break
            }
        }
        let traces = recentTraces(p)
        let field: TraceQLField
        if v2 {
            do throws(TraceQLParser.ParseError) {
                field = try TraceQLParser.field(tag)
            } catch {
                return .text(400, "invalid tag \(tag): \(error.message)")
            }
        } else {
            field = .attribute(.any, tag)
        }
        for trace in traces {
            for s in trace.spans where values.count < Self.tagValueLimit {
                switch field {
                case .attribute(let scope, let name):
                    if scope != .resource, let v = s.attributes.first(where: { $0.key == name })?.value { add(v) }
                    if scope != .span, let v = trace.resources[s.resource].first(where: { $0.key == name })?.value { add(v) }
                case .intrinsic(.name): values[s.name] = "string"
                case .intrinsic(.statusMessage): if !s.statusMessage.isEmpty { values[s.statusMessage] = "string" }
                case .intrinsic(.rootName): values[trace.rootName] = "string"
                case .intrinsic(.rootServiceName): values[trace.rootService] = "string"
                case .intrinsic(.status): values[["unset", "ok", "error"][min(s.status, 2)]] = "keyword"
                case .intrinsic(.kind):
                    values[TraceQLParser.kinds.first { $0.value == s.kind }?.key ?? "unspecified"] = "keyword"
                case .intrinsic(.duration), .intrinsic(.traceDuration): break
                }
            }
        }
        var out = JSONOutput(capacity: 256)
        out.raw("{\"tagValues\":")
        let sorted = values.keys.sorted()
        if v2 {
            out.raw("[")
            var first = true
            for v in sorted {
                out.comma(&first)
                out.raw("{\"type\":")
                out.string(values[v]!)
                out.raw(",\"value\":")
                out.string(v)
                out.raw("}")
            }
            out.raw("]")
        } else {
            Self.strings(&out, sorted)
        }
        out.raw("}")
        return .json(out.bytes)
    }

    func buildInfo() -> QueryResponse {
        // Grafana reads the version to pick the Tempo API it may use: this answers as Tempo 2.4.
        .json(Array(#"{"version":"2.4.0","revision":"collectord","branch":"","buildUser":"","buildDate":"","goVersion":""}"#.utf8))
    }

    private static func strings(_ out: inout JSONOutput, _ list: [String]) {
        out.raw("[")
        var first = true
        for s in list {
            out.comma(&first)
            out.string(s)
        }
        out.raw("]")
    }
}
