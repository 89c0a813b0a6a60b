import OTLPCodec
internal import CSnappy

/// Loki's `logproto.PushRequest` (written by `LokiTranscoder`) is sent compressed with snappy's
/// block format (what Loki expects with `Content-Type: application/x-protobuf`, no framing):
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
    /// Snappy block compression (libsnappy).
    static func snappy(_ input: [UInt8]) -> [UInt8] {
        let capacity = snappy_max_compressed_length(input.count)
        return [UInt8](unsafeUninitializedCapacity: capacity) { dst, initialized in
            var length = capacity
            let status = input.withUnsafeBytes { src in
                snappy_compress(src.baseAddress?.assumingMemoryBound(to: CChar.self), src.count,
                                UnsafeMutableRawPointer(dst.baseAddress!).assumingMemoryBound(to: CChar.self), &length)
            }
            precondition(status == SNAPPY_OK, "snappy_compress failed with a buffer of the maximal size")
            initialized = length
        }
    }
}

/// Appends protobuf fields (keys of one byte or more, varints, length-delimited payloads).
struct ProtoOut {
    var bytes: [UInt8] = []

    static func varintSize(_ value: UInt64) -> Int { ProtobufVarint.size(value) }

    mutating func rawVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func key(_ field: UInt64, _ wireType: UInt64) {
        rawVarint(field << 3 | wireType)
    }

    mutating func varint(_ field: UInt64, _ value: UInt64) {
        rawVarint(field << 3)
        rawVarint(value)
    }
}
