/// Exact comparison of the debug exporter's `detailed` output with what a client reported it
/// sent: every span / log record must be printed once, with exactly the expected lines, under
/// exactly the expected resource and scope.
///
/// ```swift
/// let sent = try result.decode(ClientReport.self)
/// let problems = DebugMatch.mismatches(sent, in: collector.stdoutText)
/// #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
/// ```

/// One `Span #n` or `LogRecord #n` of the detailed output, with the resource and scope it was
/// printed under.
public struct DebugEntry: Sendable, Equatable {
    public enum Kind: String, Sendable { case span = "Span", logRecord = "LogRecord" }

    public let kind: Kind
    /// The lines after `ResourceSpans #i` / `ResourceLogs #i` up to the scope header
    /// (`  schema_url: ...`, `  resource.dropped_attributes_count: ...`, attributes).
    public let resourceLines: [String]
    /// The lines after `  ScopeSpans #j` / `  ScopeLogs #j` up to the first entry.
    public let scopeLines: [String]
    /// The entry's own lines after its header, as printed (indented by three levels and more).
    public let lines: [String]

    /// The `span_id` (or `span_id` of a log record), "" when missing.
    public var spanId: String { field("span_id") ?? "" }
    public var traceId: String { field("trace_id") ?? "" }

    /// The value of a top-level field line of the entry (`name`, `trace_id`, `body` ...).
    public func field(_ name: String) -> String? {
        let prefix = DebugRendering.indent(3) + name + ": "
        return lines.first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }
}

extension DebugOutput {
    /// Every span and log record of the detailed output, in printed order, each with its
    /// resource and scope lines. Lines that belong to no entry (other output) are ignored.
    public static func entries(in text: String) -> [DebugEntry] {
        enum Section { case none, resource, scope, entry }
        var result: [DebugEntry] = []
        var section = Section.none
        var resource: [String] = []
        var scope: [String] = []
        var kind = DebugEntry.Kind.span
        var lines: [String] = []

        func flush() {
            if section == .entry {
                result.append(DebugEntry(kind: kind, resourceLines: resource, scopeLines: scope, lines: lines))
            }
            lines = []
        }
        func isHeader(_ line: String, _ prefix: String) -> Bool {
            line.hasPrefix(prefix) && Int(line.dropFirst(prefix.count)) != nil
        }

        for sub in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = String(sub)
            if line.hasPrefix("Traces: ") || line.hasPrefix("Logs: ") {
                flush()
                section = .none
            } else if isHeader(line, "ResourceSpans #") || isHeader(line, "ResourceLogs #") {
                flush()
                resource = []
                section = .resource
            } else if isHeader(line, "  ScopeSpans #") || isHeader(line, "  ScopeLogs #") {
                flush()
                scope = []
                section = section == .none ? .none : .scope
            } else if isHeader(line, "    Span #") || isHeader(line, "    LogRecord #") {
                flush()
                kind = line.hasPrefix("    Span #") ? .span : .logRecord
                section = section == .none ? .none : .entry
            } else {
                switch section {
                case .none: break
                case .resource: resource.append(line)
                case .scope: scope.append(line)
                case .entry:
                    if line.hasPrefix(DebugRendering.indent(3)) {
                        lines.append(line)
                    } else {  // not part of the debug output: the entry ended
                        flush()
                        section = .none
                    }
                }
            }
        }
        flush()
        return result
    }
}

extension ClientReport.Resource {
    /// Every line printed between `ResourceSpans #i` and its first `ScopeSpans` header.
    public var debugSectionLines: [String] {
        ["\(DebugRendering.indent(1))schema_url: \(DebugRendering.quoted(schemaUrl))"] + debugLines
    }
}

extension ClientReport.Scope {
    /// Every line printed between `ScopeSpans #j` and its first entry.
    public var debugSectionLines: [String] {
        ["\(DebugRendering.indent(2))schema_url: \(DebugRendering.quoted(schemaUrl))"] + debugLines
    }
}

public enum DebugMatch {
    /// What a client sent, as the detailed output must show it.
    public struct Expected: Sendable, Equatable {
        public let kind: DebugEntry.Kind
        public let resourceLines: [String]
        public let scopeLines: [String]
        public let lines: [String]
        /// For messages: "span b200000100000001 \"GET /x\"" or "log record #2 \"body\"".
        public let label: String
    }

    /// The entries a report describes, in the order sent.
    public static func expectedEntries(_ report: ClientReport) -> [Expected] {
        var out: [Expected] = []
        for span in report.spans ?? [] {
            out.append(Expected(
                kind: .span,
                resourceLines: report.resources[span.resourceIndex].debugSectionLines,
                scopeLines: report.scopes[span.scopeIndex].debugSectionLines,
                lines: span.debugLines,
                label: "span \(span.spanId) \(DebugRendering.quoted(span.name))"))
        }
        for (i, record) in (report.logRecords ?? []).enumerated() {
            out.append(Expected(
                kind: .logRecord,
                resourceLines: report.resources[record.resourceIndex].debugSectionLines,
                scopeLines: report.scopes[record.scopeIndex].debugSectionLines,
                lines: record.debugLines,
                label: "log record #\(i) \(DebugRendering.typed(record.body))"))
        }
        return out
    }

    /// Every difference between `report` and the detailed debug output `text`; empty when each
    /// item of the report is printed exactly once, with exactly its lines, resource and scope.
    /// - Parameter exclusive: also require that `text` holds no other entries of the report's
    ///   kind (true when only this client sent to the collector).
    public static func mismatches(_ report: ClientReport, in text: String, exclusive: Bool = true) -> [String] {
        mismatches(expectedEntries(report), in: entries(in: text), exclusive: exclusive)
    }

    public static func entries(in text: String) -> [DebugEntry] { DebugOutput.entries(in: text) }

    /// The same over already parsed entries.
    public static func mismatches(_ expected: [Expected], in printed: [DebugEntry], exclusive: Bool) -> [String] {
        struct Key: Hashable {
            let kind: DebugEntry.Kind
            let lines: [String]
            let resource: [String]
            let scope: [String]
        }
        func key(_ e: Expected) -> Key { Key(kind: e.kind, lines: e.lines, resource: e.resourceLines, scope: e.scopeLines) }
        func key(_ e: DebugEntry) -> Key { Key(kind: e.kind, lines: e.lines, resource: e.resourceLines, scope: e.scopeLines) }

        var problems: [String] = []
        var used = [Bool](repeating: false, count: printed.count)
        var printedByKey: [Key: [Int]] = [:]
        for (i, entry) in printed.enumerated() { printedByKey[key(entry), default: []].append(i) }
        var expectedByKey: [Key: [Int]] = [:]
        for (i, exp) in expected.enumerated() { expectedByKey[key(exp), default: []].append(i) }

        // 1. Exact matches, pairing identical expectations with identical printed entries.
        var unmatched: [Int] = []
        for (k, wanted) in expectedByKey {
            let found = printedByKey[k] ?? []
            for i in found { used[i] = true }
            if found.count > wanted.count {
                problems.append("\(expected[wanted[0]].label) is printed \(found.count) times"
                                + (wanted.count > 1 ? " (sent \(wanted.count) times)" : ""))
            }
            if found.count < wanted.count { unmatched += wanted[found.count...] }
        }

        // 2. What is missing or different: explain with the closest unused printed entry (the same
        //    span id, else the same first line).
        for e in unmatched.sorted() {
            let exp = expected[e]
            let candidates = printed.indices.filter { printed[$0].kind == exp.kind && !used[$0] }
            let idLine = exp.kind == .span ? exp.lines.first { $0.hasPrefix(DebugRendering.indent(3) + "span_id: ") } : nil
            let sameId = idLine.flatMap { line in candidates.first { printed[$0].lines.contains(line) } }
            guard let close = sameId ?? candidates.first(where: { printed[$0].lines.first == exp.lines.first }) else {
                problems.append("\(exp.label) is not in the output")
                continue
            }
            used[close] = true
            let entry = printed[close]
            var diffs: [String] = []
            diffs += lineDiff("", exp.lines, entry.lines)
            diffs += lineDiff("resource ", exp.resourceLines, entry.resourceLines)
            diffs += lineDiff("scope ", exp.scopeLines, entry.scopeLines)
            problems.append("\(exp.label) is printed differently:\n" + diffs.joined(separator: "\n"))
        }

        // 3. Anything else of the same kinds.
        if exclusive {
            let expectedKinds = Set(expected.map(\.kind))
            for (i, entry) in printed.enumerated() where !used[i] && expectedKinds.contains(entry.kind) {
                problems.append("unexpected \(entry.kind.rawValue) in the output: \(entry.lines.prefix(6).joined(separator: " | "))")
            }
        }
        return problems
    }

    /// The first lines that differ, as "expected / printed" pairs.
    static func lineDiff(_ what: String, _ expected: [String], _ printed: [String], limit: Int = 5) -> [String] {
        var out: [String] = []
        for i in 0..<max(expected.count, printed.count) where out.count < limit * 2 {
            let e = i < expected.count ? expected[i] : "<nothing>"
            let p = i < printed.count ? printed[i] : "<nothing>"
            if e != p {
                out.append("  \(what)line \(i) expected: \(e)")
                out.append("  \(what)line \(i) printed:  \(p)")
            }
        }
        return out
    }
}
