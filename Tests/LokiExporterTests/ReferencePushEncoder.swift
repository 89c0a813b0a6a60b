@testable import LokiExporter

/// The reference the transcoder is compared with: `LokiStream`s (from `LokiStreamBuilder`)
/// written as a `logproto.PushRequest` the plain way, one nested buffer per message.
enum ReferencePushEncoder {
    static func encode(_ streams: [LokiStream]) -> [UInt8] {
        var out = Writer()
        for stream in streams {
            var s = Writer()
            s.text(1, stream.labelText)
            for entry in stream.entries {
                var e = Writer()
                var ts = Writer()
                let (seconds, nanos) = (entry.timestampNanos / 1_000_000_000, entry.timestampNanos % 1_000_000_000)
                if seconds != 0 { ts.varint(1 << 3); ts.varint(seconds) }
                if nanos != 0 { ts.varint(2 << 3); ts.varint(nanos) }
                e.message(1, ts.bytes)
                if !entry.line.isEmpty { e.text(2, entry.line) }
                for pair in entry.metadata {
                    var p = Writer()
                    p.text(1, pair.name)
                    p.text(2, pair.value)
                    e.message(3, p.bytes)
                }
                s.message(2, e.bytes)
            }
            out.message(1, s.bytes)
        }
        return out.bytes
    }

    struct Writer {
        var bytes: [UInt8] = []
        mutating func varint(_ value: UInt64) {
            var v = value
            while v >= 0x80 { bytes.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
            bytes.append(UInt8(v))
        }
        mutating func message(_ field: UInt64, _ payload: [UInt8]) {
            varint(field << 3 | 2)
            varint(UInt64(payload.count))
            bytes += payload
        }
        mutating func text(_ field: UInt64, _ s: String) { message(field, Array(s.utf8)) }
    }
}
