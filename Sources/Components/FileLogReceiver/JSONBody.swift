/// `parse_json`: when a record's body is a JSON object, its well-known fields fill the record:
/// `trace_id` (32 hex digits) and `span_id` (16) so tailed logs join their traces,
/// `severity`/`level` (text; number mapped as in the OTel log data model) and
/// `time`/`timestamp` (RFC 3339) when the line did not carry a time already. The body is kept
/// as the original text.
enum JSONBody {
    static func enrich(_ entry: inout LogEntry) {
        guard entry.body.first == UInt8(ascii: "{"), let json = MiniJSON.parse(entry.body), case .object = json else { return }
        enrich(&entry, json)
    }

    /// `enrich` with the body already parsed (a JSON object).
    static func enrich(_ entry: inout LogEntry, _ json: MiniJSON) {
        if let t = json["trace_id"]?.string.flatMap(Checkpoint.unhex), t.count == 16, t.contains(where: { $0 != 0 }) { entry.traceID = t }
        if let s = json["span_id"]?.string.flatMap(Checkpoint.unhex), s.count == 8, s.contains(where: { $0 != 0 }) { entry.spanID = s }
        if let level = (json["severity"] ?? json["level"])?.string {
            entry.severityText = level
            entry.severityNumber = severityNumber(level)
        }
        if entry.timeUnixNano == 0, let t = (json["time"] ?? json["timestamp"])?.string,
           let nanos = TimestampParser.parse(Array(t.utf8)) {
            entry.timeUnixNano = nanos
        }
    }

    static func severityNumber(_ text: String) -> UInt64 {
        switch text.lowercased() {
        case "trace": 1
        case "debug": 5
        case "info", "information", "notice": 9
        case "warn", "warning": 13
        case "error", "err": 17
        case "fatal", "critical", "crit", "panic", "emergency", "alert": 21
        default: 0
        }
    }
}
