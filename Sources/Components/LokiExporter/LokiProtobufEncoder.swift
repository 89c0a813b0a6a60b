internal import CSnappy

/// Encodes streams as Loki's `logproto.PushRequest` and compresses it with snappy's block
/// format (what Loki expects with `Content-Type: application/x-protobuf`, no framing):
///
/// ```proto
/// message PushRequest { repeated StreamAdapter streams = 1; }
/// message StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
/// message EntryAdapter { google.protobuf.Timestamp timestamp = 1; string line = 2;
///                        repeated LabelPairAdapter structuredMetadata = 3; }
/// message LabelPairAdapter { string name = 1; string value = 2; }
/// message Timestamp { int64 seconds = 1; int32 nanos = 2; }
/// ```
/// `hash` is left unset (0), as Loki's own clients do.
enum LokiProtobufEncoder {
    static func encode(_ streams: [LokiStream]) -> [UInt8] {
        var out = ProtoOut()
        for stream in streams {
            var s = ProtoOut()
            s.string(1, stream.labelText)
            for entry in stream.entries {
                var e = ProtoOut()
                var ts = ProtoOut()
                let seconds = entry.timestampNanos / 1_000_000_000
                let nanos = entry.timestampNanos % 1_000_000_000
                if seconds != 0 { ts.varint(1, seconds) }
                if nanos != 0 { ts.varint(2, nanos) }
                e.message(1, ts.bytes)
                if !entry.line.isEmpty { e.string(2, entry.line) }
                for pair in entry.metadata {
                    var p = ProtoOut()
                    p.string(1, pair.name)
                    p.string(2, pair.value)
                    e.message(3, p.bytes)
                }
                s.message(2, e.bytes)
            }
            out.message(1, s.bytes)
        }
        return out.bytes
    }

    /// Snappy block compression (libsnappy).
    static func snappy(_ input: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: snappy_max_compressed_length(input.count))
        var length = output.count
        let status = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                snappy_compress(src.baseAddress?.assumingMemoryBound(to: CChar.self), src.count,
                                dst.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
            }
        }
        precondition(status == SNAPPY_OK, "snappy_compress failed with a buffer of the maximal size")
        output.removeLast(output.count - length)
        return output
    }
}

/// Appends protobuf fields (keys of one byte or more, varints, length-delimited payloads).
struct ProtoOut {
    var bytes: [UInt8] = []

    mutating func rawVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func varint(_ field: UInt64, _ value: UInt64) {
        rawVarint(field << 3)
        rawVarint(value)
    }

    mutating func message(_ field: UInt64, _ payload: [UInt8]) {
        rawVarint(field << 3 | 2)
        rawVarint(UInt64(payload.count))
        bytes.append(contentsOf: payload)
    }

    mutating func string(_ field: UInt64, _ text: String) {
        message(field, Array(text.utf8))
    }
}
