internal import CProtobufC
internal import OTLPProto

/// One entry of a Jaeger span's `logs`: a timestamp (µs) and its `fields`, already rendered
/// as a JSON array.
struct JaegerLogEntry: Comparable {
    /// Span events sort before log records at the same microsecond.
    enum Source: Int, Comparable {
        case event = 0, record = 1
        static func < (a: Source, b: Source) -> Bool { a.rawValue < b.rawValue }
    }

    var timestamp: UInt64
    var source: Source
    /// Position in its source, to keep the sort stable.
    var order: Int
    var fields: [UInt8]

    static func < (a: JaegerLogEntry, b: JaegerLogEntry) -> Bool {
        (a.timestamp, a.source, a.order) < (b.timestamp, b.source, b.order)
    }
}

/// The log records of a trace (an `ExportLogsServiceRequest`), rendered as Jaeger span log
/// entries and grouped by the span id they carry (0: none or invalid).
///
/// A record's fields: `event` (its `event_name`, when set), `level` (`severity_text`, else
/// the severity number's name such as `ERROR` or `INFO2`), `message` (the body: a string as
/// is, other values as JSON text), then its attributes as typed tags. Its timestamp is
/// `time_unix_nano`, or `observed_time_unix_nano` when that is 0, in microseconds.
struct JaegerLogIndex {
    private(set) var bySpan: [UInt64: [JaegerLogEntry]] = [:]

    init() {}

    init(logs: [UInt8]) throws(QueryError) {
        bySpan = try OTLPUnpacked.withLogs(logs) { request in
            var groups: [UInt64: [JaegerLogEntry]] = [:]
            var order = 0
            forEach(request.n_resource_logs, request.resource_logs) { resourceLogs in
                forEach(resourceLogs.n_scope_logs, resourceLogs.scope_logs) { scopeLogs in
                    forEach(scopeLogs.n_log_records, scopeLogs.log_records) { record in
                        groups[record.span_id.spanID, default: []].append(Self.entry(record, order))
                        order += 1
                    }
                }
            }
            return groups
        }
    }

    /// The entries of span `id`, in time order.
    func entries(of id: UInt64) -> [JaegerLogEntry] {
        bySpan[id] ?? []
    }

    /// The entries whose span id is none of `known` (they are shown under the root span).
    func orphans(known: Set<UInt64>) -> [JaegerLogEntry] {
        bySpan.filter { !known.contains($0.key) }.flatMap(\.value).sorted(by: <)
    }

    private static func entry(_ record: PBLogRecord, _ order: Int) -> JaegerLogEntry {
        var out = JSONOutput(capacity: 128)
        var first = true
        out.byte(UInt8(ascii: "["))
        let eventName = JSONOutput.text(record.event_name)
        if !eventName.isEmpty { JaegerTags.string(&out, &first, "event", eventName) }
        let level = severity(text: JSONOutput.text(record.severity_text), number: Int(record.severity_number.rawValue))
        if !level.isEmpty { JaegerTags.string(&out, &first, "level", level) }
        if let body = record.body, body.pointee.value_case.rawValue != 0 {
            JaegerTags.string(&out, &first, "message", JaegerTags.text(body))
        }
        JaegerTags.attributes(&out, &first, record.n_attributes, record.attributes)
        out.byte(UInt8(ascii: "]"))
        let nanos = record.time_unix_nano != 0 ? record.time_unix_nano : record.observed_time_unix_nano
        return JaegerLogEntry(timestamp: nanos / 1000, source: .record, order: order, fields: out.bytes)
    }

    /// `severity_text`, else the short name of the severity number (OTel log data model):
    /// 1-4 TRACE..TRACE4, 5-8 DEBUG.., 9-12 INFO.., 13-16 WARN.., 17-20 ERROR.., 21-24 FATAL..
    static func severity(text: String, number: Int) -> String {
        if !text.isEmpty { return text }
        guard (1...24).contains(number) else { return "" }
        let names = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
        let step = (number - 1) % 4
        return names[(number - 1) / 4] + (step == 0 ? "" : String(step + 1))
    }
}
