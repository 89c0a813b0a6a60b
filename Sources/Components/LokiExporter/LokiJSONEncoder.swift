import CollectorCore
/// Encodes streams as Loki's JSON push body:
/// `{"streams":[{"stream":{"k":"v"},"values":[["<unix ns>","line",{"trace_id":"..."}]]}]}`
/// (the metadata object is left out of an entry that has none).
enum LokiJSONEncoder {
    static func encode(_ streams: [LokiStream]) -> [UInt8] {
        var out = "{\"streams\":["
        for (i, stream) in streams.enumerated() {
            if i > 0 { out += "," }
            out += "{\"stream\":" + object(stream.labels) + ",\"values\":["
            for (j, entry) in stream.entries.enumerated() {
                if j > 0 { out += "," }
                out += "[\"\(entry.timestampNanos)\"," + JSONText.quote(entry.line)
                if !entry.metadata.isEmpty { out += "," + object(entry.metadata) }
                out += "]"
            }
            out += "]}"
        }
        out += "]}"
        return Array(out.utf8)
    }

    static func object(_ pairs: [LokiLabel]) -> String {
        "{" + pairs.map { JSONText.quote($0.name) + ":" + JSONText.quote($0.value) }.joined(separator: ",") + "}"
    }

}
