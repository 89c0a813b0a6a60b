/// Expected `debug` exporter output for what a client reported it sent, and a splitter for the
/// collector's stdout, so end-to-end tests can compare the two exactly.
///
/// The rendering follows the format documented on `DebugFormatter` (OTLPCodec): quoted text is
/// a JSON string literal (Python `json.dumps(ensure_ascii=False)` escaping), keys are bare when
/// made of `[A-Za-z0-9_.\-/@]`, values carry their type (`Str("a")`, `Int(1)`, `Double(2.5)`,
/// `Array([...])`, `Map({k: v})`, `Bytes(00ff)`, `Empty()`), ids are lowercase hex or
/// `<empty>`, times are `ns (RFC 3339 with 9 digits)`, two spaces of indentation per level.
///
/// ```swift
/// let sent = try result.decode(ClientReport.self)
/// let printed = DebugOutput.spanBlocks(in: collector.stdoutText)
/// for span in sent.spans ?? [] {
///     #expect(printed[span.spanId]?.first == span.debugLines)
/// }
/// ```
public enum DebugRendering {
    /// A JSON string literal, escaped like the debug exporter does.
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// An attribute or map key: bare when simple, else quoted.
    public static func key(_ s: String) -> String {
        let simple = !s.isEmpty && s.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_")
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "-") || c == UInt8(ascii: "/") || c == UInt8(ascii: "@")
        }
        return simple ? s : quoted(s)
    }

    /// Shortest round-trip decimal with a `.` or exponent; `NaN`, `+Inf`, `-Inf`.
    public static func double(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Inf" : "+Inf" }
        return d.description
    }

    /// `Str("a")`, `Bool(true)`, `Int(-3)`, `Double(2.5)`, `Bytes(00ff)`, `Array([...])`,
    /// `Map({...})`, `Empty()`.
    public static func typed(_ v: ClientReport.Value) -> String {
        switch v {
        case .string(let s): return "Str(\(quoted(s)))"
        case .bool: return "Bool(\(bare(v)))"
        case .int: return "Int(\(bare(v)))"
        case .double: return "Double(\(bare(v)))"
        case .bytes, .empty: return bare(v)
        case .array: return "Array(\(bare(v)))"
        case .kvlist: return "Map(\(bare(v)))"
        }
    }

    /// The compact form used inside arrays and maps.
    public static func bare(_ v: ClientReport.Value) -> String {
        switch v {
        case .string(let s): return quoted(s)
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return double(d)
        case .bytes(let hex): return "Bytes(\(hex))"
        case .array(let values): return "[" + values.map(bare).joined(separator: ", ") + "]"
        case .kvlist(let kvs): return "{" + kvs.map { "\(key($0.key)): \(bare($0.value))" }.joined(separator: ", ") + "}"
        case .empty: return "Empty()"
        }
    }

    /// `-> key: Value` at `level`.
    public static func attributeLine(_ a: ClientReport.Attribute, level: Int) -> String {
        indent(level) + "-> \(key(a.key)): \(typed(a.value))"
    }

    /// An id, or `<empty>`.
    public static func id(_ hex: String) -> String { hex.isEmpty ? "<empty>" : hex }

    /// `1700000000123456789 (2023-11-14T22:13:20.123456789Z)`.
    public static func timestamp(_ nanos: UInt64) -> String { "\(nanos) (\(rfc3339(nanos)))" }

    /// RFC 3339 in UTC with nanoseconds, e.g. `2023-11-14T22:13:20.123456789Z`.
    public static func rfc3339(_ nanos: UInt64) -> String {
        let seconds = nanos / 1_000_000_000
        let fraction = Int(nanos % 1_000_000_000)
        let (year, month, day) = civil(days: Int64(seconds / 86_400))
        let sod = Int(seconds % 86_400)
        return "\(pad(Int(year), 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(sod / 3600, 2)):\(pad(sod / 60 % 60, 2)):"
            + "\(pad(sod % 60, 2)).\(pad(fraction, 9))Z"
    }

    /// OTLP SeverityNumber name (`SEVERITY_NUMBER_INFO`, `SEVERITY_NUMBER_WARN2`, ...), or the number.
    public static func severityName(_ n: Int) -> String {
        if n == 0 { return "SEVERITY_NUMBER_UNSPECIFIED" }
        let names = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
        guard (1...24).contains(n) else { return String(n) }
        let base = names[(n - 1) / 4]
        let step = (n - 1) % 4
        return "SEVERITY_NUMBER_\(base)" + (step == 0 ? "" : String(step + 1))
    }

    static func indent(_ level: Int) -> String { String(repeating: "  ", count: level) }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// (year, month, day) of a day count since 1970-01-01, proleptic Gregorian calendar.
    private static func civil(days: Int64) -> (Int64, Int, Int) {
        // Count from 0000-03-01 so that February, with the leap day, ends each counted year.
        let z = days + 719_468
        let cycle = z / 146_097  // 400-year cycles
        let dayOfCycle = z - cycle * 146_097
        let yearOfCycle = (dayOfCycle - dayOfCycle / 1_460 + dayOfCycle / 36_524 - dayOfCycle / 146_096) / 365
        let dayOfYear = dayOfCycle - (365 * yearOfCycle + yearOfCycle / 4 - yearOfCycle / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yearOfCycle + cycle * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension ClientReport.Span {
    /// The lines `verbosity: detailed` prints for this span after its `Span #n` header, with
    /// their indentation (span fields at level 3).
    public var debugLines: [String] {
        let r = DebugRendering.self
        let l3 = r.indent(3)
        let l4 = r.indent(4)
        var lines = [
            "\(l3)trace_id: \(r.id(traceId))",
            "\(l3)span_id: \(r.id(spanId))",
            "\(l3)parent_span_id: \(r.id(parentSpanId))",
            "\(l3)trace_state: \(r.quoted(traceState))",
            "\(l3)flags: \(flags)",
            "\(l3)name: \(r.quoted(name))",
            "\(l3)kind: \(kindName)",
            "\(l3)start_time_unix_nano: \(r.timestamp(startTimeUnixNano))",
            "\(l3)end_time_unix_nano: \(r.timestamp(endTimeUnixNano))",
            "\(l3)status.code: \(status.codeName)",
            "\(l3)status.message: \(r.quoted(status.message))",
            "\(l3)dropped_attributes_count: \(droppedAttributesCount)",
            "\(l3)dropped_events_count: \(droppedEventsCount)",
            "\(l3)dropped_links_count: \(droppedLinksCount)",
            "\(l3)attributes:",
        ]
        lines += attributes.map { r.attributeLine($0, level: 4) }
        for (i, event) in events.enumerated() {
            lines += [
                "\(l3)Event #\(i)",
                "\(l4)name: \(r.quoted(event.name))",
                "\(l4)time_unix_nano: \(r.timestamp(event.timeUnixNano))",
                "\(l4)dropped_attributes_count: \(event.droppedAttributesCount)",
                "\(l4)attributes:",
            ]
            lines += event.attributes.map { r.attributeLine($0, level: 5) }
        }
        for (i, link) in links.enumerated() {
            lines += [
                "\(l3)Link #\(i)",
                "\(l4)trace_id: \(r.id(link.traceId))",
                "\(l4)span_id: \(r.id(link.spanId))",
                "\(l4)trace_state: \(r.quoted(link.traceState))",
                "\(l4)flags: \(link.flags)",
                "\(l4)dropped_attributes_count: \(link.droppedAttributesCount)",
                "\(l4)attributes:",
            ]
            lines += link.attributes.map { r.attributeLine($0, level: 5) }
        }
        return lines
    }

    /// The one line `verbosity: normal` prints for this span (`service` is the resource's
    /// service.name).
    public func debugNormalLine(service: String) -> String {
        let r = DebugRendering.self
        let duration = Int64(bitPattern: endTimeUnixNano &- startTimeUnixNano)
        return "span service=\(r.quoted(service)) name=\(r.quoted(name)) trace_id=\(r.id(traceId)) "
            + "span_id=\(r.id(spanId)) parent_span_id=\(r.id(parentSpanId)) kind=\(kindName) "
            + "duration=\(duration)ns status=\(status.codeName) status_message=\(r.quoted(status.message))"
    }
}

extension ClientReport.LogRecord {
    /// The lines `verbosity: detailed` prints for this record after its `LogRecord #n` header.
    public var debugLines: [String] {
        let r = DebugRendering.self
        let l3 = r.indent(3)
        return [
            "\(l3)time_unix_nano: \(r.timestamp(timeUnixNano))",
            "\(l3)observed_time_unix_nano: \(r.timestamp(observedTimeUnixNano))",
            "\(l3)severity_number: \(r.severityName(severityNumber))",
            "\(l3)severity_text: \(r.quoted(severityText))",
            "\(l3)event_name: \(r.quoted(eventName))",
            "\(l3)body: \(r.typed(body))",
            "\(l3)trace_id: \(r.id(traceId))",
            "\(l3)span_id: \(r.id(spanId))",
            "\(l3)flags: \(flags)",
            "\(l3)dropped_attributes_count: \(droppedAttributesCount)",
            "\(l3)attributes:",
        ] + attributes.map { r.attributeLine($0, level: 4) }
    }

    /// The one line `verbosity: normal` prints for this record.
    public func debugNormalLine(service: String) -> String {
        let r = DebugRendering.self
        return "log service=\(r.quoted(service)) time=\(r.rfc3339(timeUnixNano)) "
            + "severity=\(r.severityName(severityNumber)) severity_text=\(r.quoted(severityText)) "
            + "body=\(r.typed(body)) trace_id=\(r.id(traceId)) span_id=\(r.id(spanId))"
    }
}

extension ClientReport.Resource {
    /// The resource lines under `ResourceSpans #n` / `ResourceLogs #n` (after its `schema_url`).
    public var debugLines: [String] {
        let r = DebugRendering.self
        return ["\(r.indent(1))resource.dropped_attributes_count: \(droppedAttributesCount)",
                "\(r.indent(1))resource.attributes:"] + attributes.map { r.attributeLine($0, level: 2) }
    }

    /// The `service.name` string attribute, "" when absent (what `service=` shows).
    public var serviceName: String {
        if case .string(let s) = attribute("service.name") { return s }
        return ""
    }
}

extension ClientReport.Scope {
    /// The scope lines under `ScopeSpans #n` / `ScopeLogs #n` (after its `schema_url`).
    public var debugLines: [String] {
        let r = DebugRendering.self
        return ["\(r.indent(2))scope.name: \(r.quoted(name))",
                "\(r.indent(2))scope.version: \(r.quoted(version))",
                "\(r.indent(2))scope.dropped_attributes_count: \(droppedAttributesCount)",
                "\(r.indent(2))scope.attributes:"] + attributes.map { r.attributeLine($0, level: 3) }
    }
}

/// Splits the debug exporter's detailed output (the collector's stdout) into entries.
public enum DebugOutput {
    /// A `Traces: ...` / `Logs: ...` summary line.
    public struct Summary: Sendable, Equatable {
        /// "Traces" or "Logs".
        public let signal: String
        public let resources: Int
        public let scopes: Int
        public let items: Int
    }

    /// Every summary line, in order (every verbosity prints one per exported request).
    public static func summaries(in text: String) -> [Summary] {
        text.split(separator: "\n").compactMap { line -> Summary? in
            let signal: String
            if line.hasPrefix("Traces: ") { signal = "Traces" } else if line.hasPrefix("Logs: ") { signal = "Logs" } else {
                return nil
            }
            let numbers = line.split(whereSeparator: { $0 == " " || $0 == "," }).compactMap { Int($0) }
            guard numbers.count == 3 else { return nil }
            return Summary(signal: signal, resources: numbers[0], scopes: numbers[1], items: numbers[2])
        }
    }

    /// Total spans ("Traces") or log records ("Logs") over all summary lines.
    public static func itemCount(in text: String, signal: String) -> Int {
        summaries(in: text).filter { $0.signal == signal }.reduce(0) { $0 + $1.items }
    }

    /// The body of every `Span #n` entry (the lines after the header, as printed), by span id.
    /// A span printed more than once has several bodies.
    public static func spanBlocks(in text: String) -> [String: [[String]]] {
        var out: [String: [[String]]] = [:]
        for block in blocks(in: text, header: "Span #") {
            let idLine = block.first { $0.hasPrefix(DebugRendering.indent(3) + "span_id: ") }
            let id = idLine.map { String($0.dropFirst(DebugRendering.indent(3).count + "span_id: ".count)) } ?? ""
            out[id, default: []].append(block)
        }
        return out
    }

    /// The body of every `LogRecord #n` entry, in order.
    public static func logRecordBlocks(in text: String) -> [[String]] {
        blocks(in: text, header: "LogRecord #")
    }

    /// Entries whose header (`<header><n>` at level 2) is followed by deeper-indented lines.
    public static func blocks(in text: String, header: String) -> [[String]] {
        let headerPrefix = DebugRendering.indent(2) + header
        let bodyPrefix = DebugRendering.indent(3)
        var result: [[String]] = []
        var current: [String]?
        for sub in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(sub)
            if line.hasPrefix(headerPrefix), Int(line.dropFirst(headerPrefix.count)) != nil {
                if let current { result.append(current) }
                current = []
            } else if current != nil, line.hasPrefix(bodyPrefix) {
                current!.append(line)
            } else if let block = current {
                result.append(block)
                current = nil
            }
        }
        if let current { result.append(current) }
        return result
    }
}
