/// One log record produced from a file, before encoding.
struct LogEntry {
    /// Body bytes as read (may hold invalid UTF-8; replaced when encoded).
    var body: [UInt8]
    /// Event time from the line (CRI/docker), 0 when unknown.
    var timeUnixNano: UInt64 = 0
    /// Extra record attributes (`log.iostream`).
    var attributes: [(String, String)] = []
    /// From `parse_json`: severity, and the trace context (16 and 8 bytes, or empty).
    var severityText: String?
    var severityNumber: UInt64 = 0
    var traceID: [UInt8] = []
    var spanID: [UInt8] = []
    /// File offset just after the last byte of this record: the checkpoint once it is acknowledged.
    var endOffset: Int64
}
