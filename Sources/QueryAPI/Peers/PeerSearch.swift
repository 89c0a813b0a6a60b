import OTLPCodec
import Store

/// The peer-to-peer search of the query extension: `GET /api/collectord/v1/search` with
/// lossless parameters, answered with one line per trace summary (text, so that neither side
/// needs a JSON parser for it). Internal to collectord fleets; not a public API.
///
/// Parameters: `service`, `operation`, `tag` (repeatable, `key=value` percent-encoded as a
/// query component), `start`, `end`, `minDuration`, `maxDuration` (unix ns / ns), `limit`.
/// Answer lines: `traceID start duration spans errors logs rootService rootOperation`,
/// separated by tabs, the names percent-encoded (so that they hold no tab or newline).
enum PeerSearch {
    static let path = "/api/collectord/v1/search"

    /// The query string for `query`.
    static func queryString(_ query: TraceQuery) -> String {
        var parts: [String] = []
        func add(_ name: String, _ value: String) { parts.append(name + "=" + encode(value)) }
        if let service = query.service { add("service", service) }
        if let operation = query.operation { add("operation", operation) }
        for (key, value) in query.tags.sorted(by: { $0.key < $1.key }) { add("tag", key + "=" + value) }
        if let start = query.start { add("start", String(start)) }
        if let end = query.end { add("end", String(end)) }
        if let min = query.minDuration { add("minDuration", String(min.nanoseconds)) }
        if let max = query.maxDuration { add("maxDuration", String(max.nanoseconds)) }
        add("limit", String(query.limit))
        return parts.joined(separator: "&")
    }

    /// The query a peer's search asked for; nil when a parameter is malformed.
    static func query(_ p: QueryParameters) -> TraceQuery? {
        var query = TraceQuery(limit: Int(p["limit"] ?? "20") ?? 20)
        query.service = p["service"]
        query.operation = p["operation"]
        for tag in p.all("tag") {
            guard let equals = tag.firstIndex(of: "=") else { return nil }
            query.tags[String(tag[..<equals])] = String(tag[tag.index(after: equals)...])
        }
        func ns(_ name: String) -> UInt64?? {
            guard let text = p[name] else { return .some(nil) }
            guard let value = UInt64(text) else { return nil }
            return .some(value)
        }
        guard let start = ns("start"), let end = ns("end"), let min = ns("minDuration"), let max = ns("maxDuration") else { return nil }
        query.start = start
        query.end = end
        query.minDuration = min.map { Duration.nanoseconds(Int64(clamping: $0)) }
        query.maxDuration = max.map { Duration.nanoseconds(Int64(clamping: $0)) }
        guard query.limit >= 1 else { return nil }
        return query
    }

    static func lines(_ summaries: [TraceSummary]) -> [UInt8] {
        var out = ""
        for s in summaries {
            out += [s.traceID.hex, String(s.startTimeUnixNano), String(s.durationNanos), String(s.spanCount),
                    String(s.errorCount), String(s.logCount), encode(s.rootService), encode(s.rootOperation)].joined(separator: "\t")
            out += "\n"
        }
        return Array(out.utf8)
    }

    /// The summaries of an answer; nil when a line is malformed.
    static func summaries(_ body: [UInt8]) -> [TraceSummary]? {
        var out: [TraceSummary] = []
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count == 8, let id = OTLPTraceID(hex: String(f[0])), let start = UInt64(f[1]), let duration = UInt64(f[2]),
                  let spans = Int(f[3]), let errors = Int(f[4]), let logs = Int(f[5]) else { return nil }
            out.append(TraceSummary(traceID: id, rootService: QueryParameters.decode(f[6], plusIsSpace: false),
                                    rootOperation: QueryParameters.decode(f[7], plusIsSpace: false), startTimeUnixNano: start,
                                    durationNanos: duration, spanCount: spans, errorCount: errors, logCount: logs))
        }
        return out
    }

    /// Percent-encodes everything but unreserved characters (RFC 3986).
    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            default:
                out += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 15, radix: 16, uppercase: true)
            }
        }
        return out
    }
}
