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

/// Builds one `ExportLogsServiceRequest` with one ResourceLogs (the file's Kubernetes metadata)
/// and one ScopeLogs holding the records.
struct LogsRequestBuilder {
    private(set) var count = 0
    private var scope = ProtoWriter()
    private let resourceAttributes: [(String, String)]
    private let fileAttributes: [(String, String)]

    init(resourceAttributes: [(String, String)], fileAttributes: [(String, String)]) {
        self.resourceAttributes = resourceAttributes
        self.fileAttributes = fileAttributes
    }

    var byteCount: Int { scope.bytes.count }

    mutating func add(_ entry: LogEntry, observedUnixNano: UInt64) {
        // Valid UTF-8 is copied as is; anything else gets U+FFFD for each invalid sequence.
        let body = String(validating: entry.body, as: UTF8.self) != nil
            ? entry.body : Array(String(decoding: entry.body, as: UTF8.self).utf8)
        scope.message(2) { r in
            if entry.timeUnixNano != 0 { r.fixed64(1, entry.timeUnixNano) }
            if entry.severityNumber != 0 { r.key(2, 0); r.varint(entry.severityNumber) }
            if let text = entry.severityText { r.string(3, text) }
            r.stringValue(5, utf8: body)
            for (k, v) in fileAttributes { r.stringAttribute(6, key: k, value: v) }
            for (k, v) in entry.attributes { r.stringAttribute(6, key: k, value: v) }
            if !entry.traceID.isEmpty { r.bytesField(9, entry.traceID) }
            if !entry.spanID.isEmpty { r.bytesField(10, entry.spanID) }
            r.fixed64(11, observedUnixNano)
        }
        count += 1
    }

    /// The serialized request.
    func build() -> [UInt8] {
        var request = ProtoWriter()
        request.message(1) { rl in
            if !resourceAttributes.isEmpty {
                rl.message(1) { res in
                    for (k, v) in resourceAttributes { res.stringAttribute(1, key: k, value: v) }
                }
            }
            rl.bytesField(2, scope.bytes)
        }
        return request.bytes
    }
}
