import CollectorCore
import OTLPCodec

/// One log record for `logsPayload`.
struct TestRecord {
    var time: UInt64
    var body: String
    var level: String = "info"
    var severity: String = "INFO"
    var traceID: String?
    var spanID: String?
    var extra: [(String, String)] = []
}

/// A serialized `ExportLogsServiceRequest` with one resource (`service.name`,
/// `k8s.namespace.name`) holding `records`.
func logsPayload(service: String = "checkout", namespace: String = "prod", _ records: [TestRecord]) throws -> [UInt8] {
    func attr(_ k: String, _ v: String) -> String { "{\"key\":\"\(k)\",\"value\":{\"stringValue\":\"\(v)\"}}" }
    let items = records.map { r -> String in
        var fields = ["\"timeUnixNano\":\"\(r.time)\"", "\"severityText\":\"\(r.severity)\"",
                      "\"body\":{\"stringValue\":\"\(r.body)\"}"]
        let attrs = [attr("level", r.level)] + r.extra.map { attr($0.0, $0.1) }
        fields.append("\"attributes\":[" + attrs.joined(separator: ",") + "]")
        if let t = r.traceID { fields.append("\"traceId\":\"\(t)\"") }
        if let s = r.spanID { fields.append("\"spanId\":\"\(s)\"") }
        return "{" + fields.joined(separator: ",") + "}"
    }
    let json = """
        {"resourceLogs":[{"resource":{"attributes":[\(attr("service.name", service)),\(attr("k8s.namespace.name", namespace))]},
        "scopeLogs":[{"logRecords":[\(items.joined(separator: ","))]}]}]}
        """
    return try OTLPJSON.decode(.logs, json: Array(json.utf8))
}

func logsBatch(_ payload: [UInt8], count: Int) -> TelemetryBatch {
    TelemetryBatch(signal: .logs, payload: payload, itemCount: count)
}
