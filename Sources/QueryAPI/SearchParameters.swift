import CollectorCore
import OTLPCodec

/// Parses the search parameters of both APIs into a `TraceQuery`; every error is a 400 with
/// the message shown here (wording after Jaeger's and Tempo's own parsers).
///
/// Durations are Go durations: a sequence of decimal numbers with units `ns`, `us` (`µs`),
/// `ms`, `s`, `m`, `h` (`250ms`, `1.5s`, `1m30s`). Empty values count as absent.
enum SearchParameters {
    /// Jaeger's default and the cap applied to both APIs (Jaeger UI offers up to 1500).
    static let jaegerDefaultLimit = 100
    static let tempoDefaultLimit = 20
    static let maxLimit = 1500

    /// A Jaeger search: `/api/traces?service=&operation=&tags=&tag=&start=&end=&minDuration=&maxDuration=&limit=&traceID=`.
    ///
    /// - `service` is required unless `traceID` is given (any number of times: those traces
    ///   are returned, the other parameters ignored): `parameter 'service' is required`;
    /// - `tags` is a JSON object (see `TagSyntax`); `tag` is `key:value` and may repeat;
    /// - `start`, `end`: unix microseconds; `limit`: 1 or more (default 100, capped at 1500).
    static func jaeger(_ p: QueryParameters) throws(ParameterError) -> (query: TraceQuery, traceIDs: [OTLPTraceID]) {
        var traceIDs: [OTLPTraceID] = []
        for text in p.all("traceID") {
            do throws(ParameterError) {
                traceIDs.append(try TraceIDParameter.parse(text))
            } catch {
                throw ParameterError("cannot parse traceID param: \(error.message)")
            }
        }
        var query = TraceQuery(limit: jaegerDefaultLimit)
        query.service = p["service"]
        query.operation = p["operation"]
        if query.service == nil && traceIDs.isEmpty { throw ParameterError("parameter 'service' is required") }
        for tag in p.all("tag") {
            guard let colon = tag.firstIndex(of: ":") else {
                throw ParameterError("malformed 'tag' parameter, expecting key:value, received: \(tag)")
            }
            query.tags[String(tag[..<colon])] = String(tag[tag.index(after: colon)...])
        }
        for json in p.all("tags") {
            do throws(ParameterError) {
                query.tags.merge(try TagSyntax.json(json)) { _, new in new }
            } catch {
                throw ParameterError("malformed 'tags' parameter, cannot unmarshal JSON: \(error.message)")
            }
        }
        query.start = try integer(p, "start", scale: 1000, unit: "unix time in microseconds", style: .jaeger)
        query.end = try integer(p, "end", scale: 1000, unit: "unix time in microseconds", style: .jaeger)
        query.minDuration = try duration(p, "minDuration", style: .jaeger)
        query.maxDuration = try duration(p, "maxDuration", style: .jaeger)
        if let min = query.minDuration, let max = query.maxDuration, max < min {
            throw ParameterError("'maxDuration' should be greater than 'minDuration'")
        }
        query.limit = try limit(p, default: jaegerDefaultLimit, style: .jaeger)
        return (query, traceIDs)
    }

    /// A Tempo search: `/api/search?tags=&minDuration=&maxDuration=&limit=&start=&end=`.
    ///
    /// - `tags` is logfmt (see `TagSyntax`); `service.name` selects the service and `name` the
    ///   span name (the store's indexed fields), every other key is an attribute condition
    ///   (`error=true` also matches spans with status ERROR). As in Tempo, conditions apply to
    ///   one same span;
    /// - `start`, `end`: unix seconds; `limit`: 1 or more (default 20, capped at 1500);
    /// - TraceQL (`q=`) goes to `QueryHandler.traceQLSearch` before this is asked.
    static func tempo(_ p: QueryParameters) throws(ParameterError) -> TraceQuery {
        // A TraceQL query (q=) is answered by QueryHandler.traceQLSearch; an empty one is a tag search.
        var query = TraceQuery(limit: tempoDefaultLimit)
        if let text = p["tags"] {
            var tags: [String: String]
            do throws(ParameterError) {
                tags = try TagSyntax.logfmt(text)
            } catch {
                throw ParameterError("invalid tags: \(error.message)")
            }
            query.service = tags.removeValue(forKey: "service.name")
            query.operation = tags.removeValue(forKey: "name")
            query.tags = tags
        }
        query.minDuration = try duration(p, "minDuration", style: .tempo)
        query.maxDuration = try duration(p, "maxDuration", style: .tempo)
        if let min = query.minDuration, let max = query.maxDuration, max < min {
            throw ParameterError("invalid maxDuration: must be greater than minDuration")
        }
        query.limit = try limit(p, default: tempoDefaultLimit, style: .tempo)
        query.start = try integer(p, "start", scale: 1_000_000_000, unit: "unix time in seconds", style: .tempo)
        query.end = try integer(p, "end", scale: 1_000_000_000, unit: "unix time in seconds", style: .tempo)
        if let start = query.start, let end = query.end, end < start {
            throw ParameterError("invalid end: must not be before start")
        }
        return query
    }

    /// How each API words a bad parameter: Jaeger `unable to parse param 'limit': ...`,
    /// Tempo `invalid limit: ...`.
    private enum Style {
        case jaeger, tempo

        func prefix(_ name: String) -> String {
            switch self {
            case .jaeger: "unable to parse param '\(name)': "
            case .tempo: "invalid \(name): "
            }
        }
    }

    /// A non-negative integer times `scale` (ns), or nil when absent.
    private static func integer(
        _ p: QueryParameters, _ name: String, scale: UInt64, unit: String, style: Style
    ) throws(ParameterError) -> UInt64? {
        guard let text = p[name] else { return nil }
        guard let value = UInt64(text), case let (ns, overflow) = value.multipliedReportingOverflow(by: scale), !overflow else {
            throw ParameterError(style.prefix(name) + "\(TraceIDParameter.quoted(text)) is not a \(unit)")
        }
        return ns
    }

    private static func duration(_ p: QueryParameters, _ name: String, style: Style) throws(ParameterError) -> Duration? {
        guard let text = p[name] else { return nil }
        guard let ns = DurationParser.nanoseconds(text), ns <= UInt64(Int64.max) else {
            throw ParameterError(style.prefix(name) + "invalid duration \(TraceIDParameter.quoted(text)) (examples: 250ms, 1.5s, 2m)")
        }
        return .nanoseconds(Int64(ns))
    }

    private static func limit(_ p: QueryParameters, default value: Int, style: Style) throws(ParameterError) -> Int {
        guard let text = p["limit"] else { return value }
        guard let n = Int(text), n > 0 else {
            throw ParameterError(style.prefix("limit") + "\(TraceIDParameter.quoted(text)) is not a positive integer")
        }
        return min(n, maxLimit)
    }
}
