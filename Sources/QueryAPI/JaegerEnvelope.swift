/// Jaeger query service's response envelope (`structuredResponse` in its HTTP handler):
///
///     {"data":<data>,"total":<n>,"limit":0,"offset":0,"errors":<null or [..]>}
///
/// `total` is the number of services or operations for those endpoints and 0 for traces (as
/// Jaeger answers); `limit` and `offset` are always 0. An error is
/// `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found"}]}`;
/// a trace missing from a multi-id search is `{"msg":"trace not found","traceID":".."}`
/// (no code) next to the traces found.
enum JaegerEnvelope {
    /// `data` as a JSON array of strings, with `total` = its count.
    static func strings(_ values: [String]) -> [UInt8] {
        var out = JSONOutput(capacity: 64 + values.count * 24)
        out.raw("{\"data\":[")
        var first = true
        for value in values {
            out.comma(&first)
            out.string(value)
        }
        out.raw("],\"total\":\(values.count),\"limit\":0,\"offset\":0,\"errors\":null}")
        return out.bytes
    }

    /// `data` as a JSON array of trace objects (already JSON); `missing` lists trace ids not
    /// found (ids of a multi-id search); `partial` says why the answer may lack traces or
    /// spans (an error entry with code 206, next to the data).
    static func traces(_ traces: [[UInt8]], missing: [String] = [], partial: String? = nil) -> [UInt8] {
        var out = JSONOutput(capacity: 64 + traces.reduce(0) { $0 + $1.count + 1 })
        out.raw("{\"data\":[")
        for (i, trace) in traces.enumerated() {
            if i > 0 { out.byte(UInt8(ascii: ",")) }
            out.raw(trace)
        }
        out.raw("],\"total\":0,\"limit\":0,\"offset\":0,\"errors\":")
        if missing.isEmpty && partial == nil {
            out.null()
        } else {
            out.byte(UInt8(ascii: "["))
            var first = true
            for id in missing {
                out.comma(&first)
                out.raw("{\"msg\":\"trace not found\",\"traceID\":")
                out.string(id)
                out.byte(UInt8(ascii: "}"))
            }
            if let partial {
                out.comma(&first)
                out.raw("{\"code\":206,\"msg\":")
                out.string(partial)
                out.byte(UInt8(ascii: "}"))
            }
            out.byte(UInt8(ascii: "]"))
        }
        out.byte(UInt8(ascii: "}"))
        return out.bytes
    }

    /// An error answer with HTTP status `code`.
    static func error(code: Int, _ message: String) -> [UInt8] {
        var out = JSONOutput(capacity: 96 + message.utf8.count)
        out.raw("{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":\(code),\"msg\":")
        out.string(message)
        out.raw("}]}")
        return out.bytes
    }
}
