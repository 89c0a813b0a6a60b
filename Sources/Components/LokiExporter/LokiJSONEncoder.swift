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
                out += "[\"\(entry.timestampNanos)\"," + quote(entry.line)
                if !entry.metadata.isEmpty { out += "," + object(entry.metadata) }
                out += "]"
            }
            out += "]}"
        }
        out += "]}"
        return Array(out.utf8)
    }

    static func object(_ pairs: [LokiLabel]) -> String {
        "{" + pairs.map { quote($0.name) + ":" + quote($0.value) }.joined(separator: ",") + "}"
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for c in text.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if c.value < 0x20 {
                    let hex = String(c.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }
}
