import OTLPCodec
import Store

/// Tempo's response bodies, built from the stored OTLP bytes.
///
/// Tempo's `tempopb.Trace { repeated ResourceSpans batches = 1; }` is wire-identical to
/// `ExportTraceServiceRequest` (field 1, same `ResourceSpans`), so the stored bytes are the
/// `/api/traces/{id}` protobuf body as they are; `TraceByIDResponse { Trace trace = 1; ... }`
/// (v2) wraps them in field 1. JSON bodies use OTLP/JSON (`OTLPJSON.encode`: lowerCamelCase
/// keys, hex ids, 64-bit integers as strings, integer enums).
enum TempoFormat {
    /// `/api/traces/{id}` JSON: `{"batches":[<OTLP/JSON ResourceSpans>...]}`.
    static func batchesJSON(spans: [UInt8]) throws(QueryError) -> [UInt8] {
        let json = try otlpJSON(.traces, spans)
        let prefix = Array("{\"resourceSpans\":".utf8)
        if json.starts(with: prefix) { return Array("{\"batches\":".utf8) + json[prefix.count...] }
        return Array("{\"batches\":[]}".utf8)
    }

    /// `/api/v2/traces/{id}` JSON: `{"trace":{"resourceSpans":[...]}}`.
    static func traceByIDJSON(spans: [UInt8]) throws(QueryError) -> [UInt8] {
        Array("{\"trace\":".utf8) + (try otlpJSON(.traces, spans)) + [UInt8(ascii: "}")]
    }

    /// `/api/v2/traces/{id}` protobuf: `TraceByIDResponse` with only field 1 (`trace`) set;
    /// its status (COMPLETE, the proto3 default) and metrics are omitted.
    static func traceByIDProtobuf(spans: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x0A]  // field 1, length-delimited
        var length = UInt64(spans.count)
        while length >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: length) | 0x80)
            length >>= 7
        }
        out.append(UInt8(length))
        return out + spans
    }

    /// The fields every Tempo search result starts with: `{"traceID":..,"rootServiceName":..,
    /// "rootTraceName":..,"startTimeUnixNano":"..","durationMs":..` (the object left open).
    static func traceHead(_ out: inout JSONOutput, traceID: OTLPTraceID, rootService: String, rootName: String,
                          start: UInt64, durationNanos: UInt64) {
        out.raw("{\"traceID\":")
        out.string(traceID.hex)
        out.raw(",\"rootServiceName\":")
        out.string(rootService)
        out.raw(",\"rootTraceName\":")
        out.string(rootName)
        out.raw(",\"startTimeUnixNano\":\"\(start)\",\"durationMs\":\(durationNanos / 1_000_000)")
    }

    /// OTLP/JSON of a stored request; an empty request is `{}`.
    static func otlpJSON(_ signal: OTLPSignal, _ protobuf: [UInt8]) throws(QueryError) -> [UInt8] {
        do throws(OTLPDecodeError) {
            return try OTLPJSON.encode(signal, protobuf: protobuf)
        } catch {
            throw QueryError.malformed(signal.requestMessageName)
        }
    }

    /// `/api/search` JSON, Tempo's `SearchResponse`:
    ///
    ///     {"traces":[{"traceID":"<32 hex>","rootServiceName":"..","rootTraceName":"..",
    ///                 "startTimeUnixNano":"<ns as string>","durationMs":<ms>,
    ///                 "spanCount":<n>,"errorCount":<n>,"logCount":<n>}],
    ///      "metrics":{"completedJobs":1,"totalJobs":1}}
    ///
    /// `spanCount`, `errorCount` and `logCount` are collectord's additions (Tempo clients ignore
    /// unknown fields); `durationMs` is truncated to whole milliseconds, as Tempo does.
    static func search(_ summaries: [TraceSummary]) -> [UInt8] {
        var out = JSONOutput(capacity: 64 + summaries.count * 200)
        out.raw("{\"traces\":[")
        var first = true
        for s in summaries {
            out.comma(&first)
            traceHead(&out, traceID: s.traceID, rootService: s.rootService, rootName: s.rootOperation,
                      start: s.startTimeUnixNano, durationNanos: s.durationNanos)
            out.raw(",\"spanCount\":\(s.spanCount),\"errorCount\":\(s.errorCount),\"logCount\":\(s.logCount)}")
        }
        out.raw("],\"metrics\":{\"completedJobs\":1,\"totalJobs\":1}}")
        return out.bytes
    }
}
