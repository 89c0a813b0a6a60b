import Foundation
import OTLPCodec

/// Requests read back from the store, decoded independently of the store's wire code: through
/// OTLPJSON (protobuf-c) and Foundation's JSON parser.
struct DecodedSpan: Hashable, Comparable, CustomStringConvertible {
    var service: String
    var scope: String
    var name: String
    var traceID: String
    var spanID: String

    static func < (a: DecodedSpan, b: DecodedSpan) -> Bool { (a.traceID, a.spanID, a.name) < (b.traceID, b.spanID, b.name) }
    var description: String { "\(service)/\(scope)/\(name)/\(spanID)" }
}

struct DecodedLog: Hashable, Comparable, CustomStringConvertible {
    var service: String
    var body: String
    var traceID: String
    var spanID: String

    static func < (a: DecodedLog, b: DecodedLog) -> Bool { (a.traceID, a.body) < (b.traceID, b.body) }
    var description: String { "\(service)/\(body)/\(spanID)" }
}

struct DecodeFailure: Error, CustomStringConvertible {
    var description: String
}

private func json(_ signal: OTLPSignal, _ bytes: [UInt8]) throws -> [String: Any] {
    let text = try OTLPJSON.encode(signal, protobuf: bytes)
    guard let object = try JSONSerialization.jsonObject(with: Data(text)) as? [String: Any] else {
        throw DecodeFailure(description: "not a JSON object")
    }
    return object
}

private func service(_ resource: [String: Any]?) -> String {
    let attributes = (resource?["attributes"] as? [[String: Any]]) ?? []
    for a in attributes where a["key"] as? String == "service.name" {
        return ((a["value"] as? [String: Any])?["stringValue"] as? String) ?? ""
    }
    return ""
}

/// The spans of a serialized ExportTraceServiceRequest, in order.
func decodeSpans(_ bytes: [UInt8]) throws -> [DecodedSpan] {
    var out: [DecodedSpan] = []
    for rs in (try json(.traces, bytes)["resourceSpans"] as? [[String: Any]]) ?? [] {
        let svc = service(rs["resource"] as? [String: Any])
        for ss in (rs["scopeSpans"] as? [[String: Any]]) ?? [] {
            let scope = ((ss["scope"] as? [String: Any])?["name"] as? String) ?? ""
            for span in (ss["spans"] as? [[String: Any]]) ?? [] {
                out.append(DecodedSpan(service: svc, scope: scope, name: span["name"] as? String ?? "",
                                       traceID: span["traceId"] as? String ?? "", spanID: span["spanId"] as? String ?? ""))
            }
        }
    }
    return out
}

/// The log records of a serialized ExportLogsServiceRequest, in order.
func decodeLogs(_ bytes: [UInt8]) throws -> [DecodedLog] {
    var out: [DecodedLog] = []
    for rl in (try json(.logs, bytes)["resourceLogs"] as? [[String: Any]]) ?? [] {
        let svc = service(rl["resource"] as? [String: Any])
        for sl in (rl["scopeLogs"] as? [[String: Any]]) ?? [] {
            for record in (sl["logRecords"] as? [[String: Any]]) ?? [] {
                let body = ((record["body"] as? [String: Any])?["stringValue"] as? String) ?? ""
                out.append(DecodedLog(service: svc, body: body, traceID: record["traceId"] as? String ?? "",
                                      spanID: record["spanId"] as? String ?? ""))
            }
        }
    }
    return out
}

/// Number of ResourceSpans / ResourceLogs entries.
func resourceCount(_ signal: OTLPSignal, _ bytes: [UInt8]) throws -> Int {
    try OTLPValidator.counts(signal, protobuf: bytes).resources
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}
