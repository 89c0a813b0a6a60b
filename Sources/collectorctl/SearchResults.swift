/// The `/api/search` answer (Tempo's `SearchResponse`, with collectord's span, error and log
/// counts, which other Tempo-compatible servers do not send).
struct SearchResults: Decodable, Equatable {
    var traces: [Trace]?

    struct Trace: Decodable, Equatable {
        var traceID: String
        var rootServiceName: String?
        var rootTraceName: String?
        var startTimeUnixNano: String?
        var durationMs: UInt64?
        var spanCount: Int?
        var errorCount: Int?
    }
}

/// Renders search results as a table, newest first as the server sorted them:
///
///     TRACE ID                          START (UTC)              DURATION  SPANS  ERRORS  ROOT
///     4bf92f3577b34da6a3ce929d0e0e4736  2023-11-14 22:13:20.000     120ms      5       1  frontend: GET /checkout
struct SearchTable {
    var palette: Palette = .plain

    func render(_ results: SearchResults) -> String {
        let traces = results.traces ?? []
        guard !traces.isEmpty else { return "No traces found.\n" }
        var lines = [palette.paint("TRACE ID                          START (UTC)              DURATION  SPANS  ERRORS  ROOT", .bold)]
        for trace in traces {
            let start = UInt64(trace.startTimeUnixNano ?? "").map(TextFormat.timestamp) ?? "-"
            let duration = trace.durationMs.map { TextFormat.duration($0 * 1_000_000) } ?? "-"
            let spans = trace.spanCount.map(String.init) ?? "-"
            let errors = trace.errorCount.map(String.init) ?? "-"
            let erroneous = (trace.errorCount ?? 0) > 0
            let root = (trace.rootServiceName ?? "") + ": " + (trace.rootTraceName ?? "")
            lines.append(TextFormat.pad(trace.traceID, to: 32) + "  " + TextFormat.pad(start, to: 23) + "  "
                + TextFormat.pad(duration, to: 8, right: true) + "  " + TextFormat.pad(spans, to: 5, right: true) + "  "
                + palette.paint(TextFormat.pad(errors, to: 6, right: true), erroneous ? .boldRed : .dim) + "  " + root)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
