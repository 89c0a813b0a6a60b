/// Renders a trace as an indented tree (pure: same view, same text; tested with golden files).
///
///     Trace 4bf92f3577b34da6a3ce929d0e0e4736
///     2023-11-14 22:13:20.000 UTC  duration 120ms  5 spans  3 services  1 error  3 log records
///
///     frontend GET /checkout                 120ms  [██████████████████████████████]
///     │ http.request.method=GET url.path=/checkout
///     │ +1.00ms  INFO  checkout started  user.id=42
///     └─ checkout POST /api/checkout        75.0ms  [      ██████████████████      ]
///        ├─ ✗ checkout SELECT orders        30.0ms  [       ████████               ]
///        │    ✗ error: connection reset
///        │    db.system=postgresql
///        │    +22.0ms  ERROR query failed
///        └─ checkout publish order          10.0ms  [                   ███        ]
///
/// - Spans hang under their parent, children ordered by start time; spans whose parent is not
///   in the trace are shown as further roots, with a note.
/// - Each span row: service, span name, duration, and a bar placing the span within the
///   trace's time range (`barWidth` columns). Error spans (status ERROR) are marked `✗`, with
///   their status message on the next line.
/// - Under a span: its key attributes (`keyAttributePrefixes`: http, url, db, rpc, messaging,
///   server/client/network, peer, error, exception, code), then its events (`◆`) and the log
///   records carrying its span id, in time order, with their offset from the trace's start. Log
///   records without a span id, or with one not in the trace, go under the root span (the
///   earliest span without parent, else the earliest span).
/// - Colours (service names, errors, severities) come from `palette` and are off in tests.
struct TreeRenderer {
    var palette: Palette = .plain
    var barWidth = 30
    /// The span-name column is at most this wide; longer names are cut with `…`.
    var maxNameWidth = 64

    static let keyAttributePrefixes = ["http.", "url.", "db.", "rpc.", "messaging.", "server.", "client.", "net.",
                                       "network.", "peer.", "error.", "exception.", "code."]
    static let maxAttributes = 8

    func render(_ trace: TraceView) -> String {
        var lines = header(trace)
        lines.append("")
        if trace.spans.isEmpty {
            lines.append("(no spans stored for this trace)")
            let t0 = trace.logs.map(\.time).min() ?? 0
            for log in trace.logs.sorted(by: { $0.time < $1.time }) {
                lines.append(logLine(log, t0: t0, showService: true))
            }
            return lines.joined(separator: "\n") + "\n"
        }
        let layout = TreeLayout(trace)
        let t0 = layout.start
        let total = layout.end > t0 ? layout.end - t0 : 0
        let colors = serviceColors(trace)
        let nameWidth = min(maxNameWidth, layout.rows.map { $0.prefix.count + $0.connector.count + label(trace.spans[$0.span]).count }.max() ?? 0)
        let durationWidth = max(5, trace.spans.map { TextFormat.duration($0.duration).count }.max() ?? 0)
        for (i, row) in layout.rows.enumerated() {
            if row.connector.isEmpty && i > 0 { lines.append("") }
            let span = trace.spans[row.span]
            let color = span.isError ? Palette.Color.red : colors[span.service] ?? .cyan
            // Name column: tree prefix, marker, service (coloured), span name.
            let treeText = row.prefix + row.connector
            let marker = span.isError ? "✗ " : ""
            let room = max(1, nameWidth - treeText.count - marker.count)
            let text = TextFormat.truncate(span.service + " " + span.name, room)
            var name = palette.paint(treeText, .dim) + palette.paint(marker, .boldRed)
            if text.hasPrefix(span.service + " ") {
                name += palette.paint(span.service, colors[span.service] ?? .cyan) + text.dropFirst(span.service.count)
            } else {
                name += palette.paint(text, colors[span.service] ?? .cyan)
            }
            let padding = String(repeating: " ", count: max(0, nameWidth - treeText.count - marker.count - text.count))
            let duration = TextFormat.pad(TextFormat.duration(span.duration), to: durationWidth, right: true)
            lines.append(name + padding + "  " + duration + "  " + palette.paint(bar(span, t0: t0, total: total), color))
            let detail = row.childPrefix + (layout.children[row.span].isEmpty ? "  " : "│ ")
            for text in details(row.span, trace, layout, t0: t0) {
                lines.append(palette.paint(detail, .dim) + text)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func header(_ trace: TraceView) -> [String] {
        let start = (trace.spans.map(\.start) + (trace.spans.isEmpty ? trace.logs.map(\.time) : [])).min() ?? 0
        let end = trace.spans.map(\.end).max() ?? start
        let errors = trace.spans.filter(\.isError).count
        let services = Set(trace.spans.map(\.service)).count
        var facts = [TextFormat.timestamp(start) + " UTC"]
        if !trace.spans.isEmpty { facts.append("duration " + TextFormat.duration(end > start ? end - start : 0)) }
        facts.append(count(trace.spans.count, "span"))
        facts.append(count(services, "service"))
        facts.append(errors > 0 ? palette.paint(count(errors, "error"), .boldRed) : count(errors, "error"))
        facts.append(count(trace.logs.count, "log record"))
        return [palette.paint("Trace \(trace.traceID)", .bold), facts.joined(separator: "  ")]
    }

    private func count(_ n: Int, _ noun: String) -> String {
        "\(n) \(noun)\(n == 1 ? "" : "s")"
    }

    private func label(_ span: TraceView.Span) -> String {
        (span.isError ? "✗ " : "") + span.service + " " + span.name
    }

    /// `[   █████     ]`: the span's place in the trace, at least one column.
    func bar(_ span: TraceView.Span, t0: UInt64, total: UInt64) -> String {
        let width = UInt64(barWidth)
        var from: UInt64 = 0
        var to = width
        if total > 0 {
            let offset = span.start > t0 ? span.start - t0 : 0
            from = min(width - 1, offset * width / total)
            to = min(width, max(from + 1, ((offset + span.duration) * width + total - 1) / total))
        }
        return "[" + String(repeating: " ", count: Int(from)) + String(repeating: "█", count: Int(to - from))
            + String(repeating: " ", count: Int(width - to)) + "]"
    }

    /// The lines under a span: error, missing parent, key attributes, events and logs.
    private func details(_ index: Int, _ trace: TraceView, _ layout: TreeLayout, t0: UInt64) -> [String] {
        let span = trace.spans[index]
        var out: [String] = []
        if span.isError {
            out.append(palette.paint("✗ error" + (span.statusMessage.isEmpty ? "" : ": " + span.statusMessage), .red))
        }
        if layout.orphans.contains(index) {
            out.append(palette.paint("↳ parent span \(span.parentSpanID) is not in the trace", .dim))
        }
        let keys = span.attributes.filter { a in Self.keyAttributePrefixes.contains { a.key.hasPrefix($0) } }
        if !keys.isEmpty {
            out.append(palette.paint(keys.prefix(Self.maxAttributes).map { TextFormat.pair($0.key, $0.value) }.joined(separator: " "), .dim))
        }
        // Events and logs in time order; events first at the same instant.
        var timeline: [(time: UInt64, order: Int, line: String)] = span.events.enumerated().map { i, event in
            let attributes = event.attributes.prefix(Self.maxAttributes).map { TextFormat.pair($0.key, $0.value) }
            let text = offset(event.time, t0) + "  " + palette.paint("◆ " + event.name, .yellow)
                + (attributes.isEmpty ? "" : "  " + palette.paint(attributes.joined(separator: " "), .dim))
            return (event.time, i, text)
        }
        for (i, log) in (layout.logs[index] ?? []).enumerated() {
            timeline.append((log.time, span.events.count + i, logLine(log, t0: t0, showService: log.service != span.service)))
        }
        timeline.sort { ($0.time, $0.order) < ($1.time, $1.order) }
        out += timeline.map(\.line)
        return out
    }

    private func logLine(_ log: TraceView.Log, t0: UInt64, showService: Bool) -> String {
        let severity = log.severity.isEmpty ? "LOG" : log.severity
        let body = TextFormat.truncate(log.body.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? "", 120)
        let attributes = log.attributes.prefix(Self.maxAttributes).map { TextFormat.pair($0.key, $0.value) }
        var line = offset(log.time, t0) + "  " + palette.paint(TextFormat.pad(severity, to: 5), Palette.severity(severity)) + " "
        if showService { line += palette.paint("[\(log.service)]", .dim) + " " }
        line += body
        if !attributes.isEmpty { line += "  " + palette.paint(attributes.joined(separator: " "), .dim) }
        return line
    }

    private func offset(_ time: UInt64, _ t0: UInt64) -> String {
        time >= t0 ? "+" + TextFormat.duration(time - t0) : "-" + TextFormat.duration(t0 - time)
    }

    private func serviceColors(_ trace: TraceView) -> [String: Palette.Color] {
        var colors: [String: Palette.Color] = [:]
        for span in trace.spans.sorted(by: { $0.start < $1.start }) where colors[span.service] == nil {
            colors[span.service] = Palette.services[colors.count % Palette.services.count]
        }
        return colors
    }
}
