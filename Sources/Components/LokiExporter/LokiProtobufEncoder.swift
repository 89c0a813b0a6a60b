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
///
/// Every message's size is computed before it is written, so the request is written into one
/// buffer of exactly the right size, without a buffer per entry.
enum LokiProtobufEncoder {
    static func encode(_ streams: [LokiStream]) -> [UInt8] {
        let labelTexts = streams.map(\.labelText)
        var streamSizes: [Int] = []
        var entrySizes: [Int] = []   // every entry's, in order (computed once)
        var total = 0
        for (i, stream) in streams.enumerated() {
            var size = field(labelTexts[i].utf8.count)
            for entry in stream.entries {
                let entrySize = entrySize(entry)
                entrySizes.append(entrySize)
                size += field(entrySize)
            }
            streamSizes.append(size)
            total += field(size)
        }
        var nextEntry = 0
        var out = ProtoOut()
        out.bytes.reserveCapacity(total)
        for (i, stream) in streams.enumerated() {
            out.key(1, 2)
            out.rawVarint(UInt64(streamSizes[i]))
            out.string(1, labelTexts[i])
            for entry in stream.entries {
                out.key(2, 2)
                out.rawVarint(UInt64(entrySizes[nextEntry]))
                nextEntry += 1
                let (seconds, nanos) = split(entry.timestampNanos)
                out.key(1, 2)
                out.rawVarint(UInt64(timestampSize(seconds, nanos)))
                if seconds != 0 { out.varint(1, seconds) }
                if nanos != 0 { out.varint(2, nanos) }
                if !entry.line.isEmpty { out.string(2, entry.line) }
                for pair in entry.metadata {
                    out.key(3, 2)
                    out.rawVarint(UInt64(field(pair.name.utf8.count) + field(pair.value.utf8.count)))
                    out.string(1, pair.name)
                    out.string(2, pair.value)
                }
            }
        }
        assert(out.bytes.count == total)
        return out.bytes
    }

    /// A length-delimited field of `length` bytes with a one-byte key.
    private static func field(_ length: Int) -> Int { 1 + ProtoOut.varintSize(UInt64(length)) + length }

    private static func split(_ nanos: UInt64) -> (UInt64, UInt64) { (nanos / 1_000_000_000, nanos % 1_000_000_000) }

    private static func timestampSize(_ seconds: UInt64, _ nanos: UInt64) -> Int {
        (seconds != 0 ? 1 + ProtoOut.varintSize(seconds) : 0) + (nanos != 0 ? 1 + ProtoOut.varintSize(nanos) : 0)
    }

    private static func entrySize(_ entry: LokiStream.Entry) -> Int {
        let (seconds, nanos) = split(entry.timestampNanos)
        var size = field(timestampSize(seconds, nanos))
        if !entry.line.isEmpty { size += field(entry.line.utf8.count) }
        for pair in entry.metadata { size += field(field(pair.name.utf8.count) + field(pair.value.utf8.count)) }
        return size
    }

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

    static func varintSize(_ value: UInt64) -> Int {
        var v = value, size = 1
        while v >= 0x80 { v >>= 7; size += 1 }
        return size
    }

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

    mutating func message(_ field: UInt64, _ payload: [UInt8]) {
        rawVarint(field << 3 | 2)
        rawVarint(UInt64(payload.count))
        bytes.append(contentsOf: payload)
    }

    mutating func string(_ field: UInt64, _ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            rawVarint(field << 3 | 2)
            rawVarint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }
}
