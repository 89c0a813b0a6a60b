/// One log record produced from a file, before encoding.
struct LogEntry {
    /// Body bytes as read (may hold invalid UTF-8; replaced when encoded).
    var body: [UInt8]
    /// Event time from the line (CRI/docker), 0 when unknown.
    var timeUnixNano: UInt64 = 0
    /// Extra record attributes (`log.iostream`).
    var attributes: [(String, String)] = []
    /// From `json_parser`: the body's JSON fields, typed (written after `attributes`).
    var typedAttributes: [(String, AttributeValue)] = []
    /// From `json_parser`'s fast path: the same attributes already encoded as LogRecord
    /// `attributes` fields (written after `attributes`; set instead of `typedAttributes`).
    var encodedAttributes: [UInt8] = []
    /// From `parse_json` or `json_parser`: severity, and the trace context (16 and 8 bytes, or
    /// empty; W3C trace flags, 0 when unknown).
    var severityText: String?
    var severityNumber: UInt64 = 0
    var traceID: [UInt8] = []
    var spanID: [UInt8] = []
    var traceFlags: UInt32 = 0
    /// File offset just after the last byte of this record: the checkpoint once it is acknowledged.
    var endOffset: Int64
}

/// An OTLP `AnyValue` of a record attribute (the scalar kinds `json_parser` produces).
enum AttributeValue: Equatable {
    case string(String)
    case bool(Bool)
    case int(Int64)
    case double(Double)
}
