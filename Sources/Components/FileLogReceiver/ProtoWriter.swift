/// Just enough of the protobuf wire format to write `ExportLogsServiceRequest`s.
struct ProtoWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func key(_ field: UInt32, _ wireType: UInt8) {
        varint(UInt64(field) << 3 | UInt64(wireType))
    }

    mutating func fixed64(_ field: UInt32, _ value: UInt64) {
        key(field, 1)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    mutating func bytesField(_ field: UInt32, _ payload: some Collection<UInt8>) {
        key(field, 2)
        varint(UInt64(payload.count))
        bytes.append(contentsOf: payload)
    }

    mutating func string(_ field: UInt32, _ value: String) {
        var copy = value
        copy.withUTF8 { bytesField(field, $0) }
    }

    /// A nested message, written by `body` into a fresh writer.
    mutating func message(_ field: UInt32, _ body: (inout ProtoWriter) -> Void) {
        var inner = ProtoWriter()
        body(&inner)
        bytesField(field, inner.bytes)
    }

    /// `KeyValue{key, value: AnyValue{string_value}}` as field `field`, sizes computed up front
    /// (no intermediate buffers: this runs for every record).
    mutating func stringAttribute(_ field: UInt32, key: String, value: String) {
        let k = key.utf8.count, v = value.utf8.count
        let anyValue = 1 + Self.varintSize(v) + v
        let keyValue = 1 + Self.varintSize(k) + k + 1 + Self.varintSize(anyValue) + anyValue
        self.key(field, 2)
        varint(UInt64(keyValue))
        string(1, key)
        self.key(2, 2)
        varint(UInt64(anyValue))
        string(1, value)
    }

    /// `AnyValue{string_value: bytes}` as field `field`; `bytes` must be valid UTF-8.
    mutating func stringValue(_ field: UInt32, utf8 bytes: [UInt8]) {
        self.key(field, 2)
        varint(UInt64(1 + Self.varintSize(bytes.count) + bytes.count))
        bytesField(1, bytes)
    }

    static func varintSize(_ n: Int) -> Int {
        var v = UInt64(n), size = 1
        while v >= 0x80 { v >>= 7; size += 1 }
        return size
    }
}
