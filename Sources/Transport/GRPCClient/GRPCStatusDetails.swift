/// `grpc-status-details-bin`: a base64 `google.rpc.Status` whose details are `Any` messages.
/// Only what a client acts on is decoded: the code, the message, and a `google.rpc.RetryInfo`'s
/// `retry_delay` (the OTLP specification: RESOURCE_EXHAUSTED is retryable only with one, after
/// that delay). Pure functions on the protobuf wire format; malformed input gives nil.
public struct GRPCStatusDetails: Sendable, Equatable {
    public var code: Int
    public var message: String
    /// The type URLs of the details, in order (`type.googleapis.com/google.rpc.RetryInfo`).
    public var detailTypes: [String]
    /// RetryInfo's `retry_delay`, in nanoseconds.
    public var retryDelayNanos: UInt64?

    static let retryInfoType = "type.googleapis.com/google.rpc.RetryInfo"

    /// Decodes the header's value (base64, padded or not); nil when it is not a valid Status.
    public init?(headerValue: String) {
        guard let bytes = Self.base64Decode(Array(headerValue.utf8)) else { return nil }
        self.init(status: bytes)
    }

    /// Decodes a serialized `google.rpc.Status`.
    public init?(status bytes: [UInt8]) {
        code = 0
        message = ""
        detailTypes = []
        var reader = WireReader(bytes[...])
        while !reader.isAtEnd {
            guard let (field, value) = reader.next() else { return nil }
            switch (field, value) {
            case (1, .varint(let v)): code = Int(Int32(truncatingIfNeeded: v))
            case (2, .bytes(let text)): message = String(decoding: text, as: UTF8.self)
            case (3, .bytes(let any)):
                guard let (type, payload) = Self.any(any) else { return nil }
                detailTypes.append(type)
                if type == Self.retryInfoType, retryDelayNanos == nil { retryDelayNanos = Self.retryDelay(payload) }
            default: break
            }
        }
    }

    /// `google.protobuf.Any`: (type_url, value).
    private static func any(_ bytes: ArraySlice<UInt8>) -> (String, ArraySlice<UInt8>)? {
        var reader = WireReader(bytes)
        var type = "", payload: ArraySlice<UInt8> = []
        while !reader.isAtEnd {
            guard let (field, value) = reader.next() else { return nil }
            if case .bytes(let b) = value {
                if field == 1 { type = String(decoding: b, as: UTF8.self) }
                if field == 2 { payload = b }
            }
        }
        return (type, payload)
    }

    /// RetryInfo { Duration retry_delay = 1; } with Duration { int64 seconds = 1; int32 nanos = 2; }.
    private static func retryDelay(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        var reader = WireReader(bytes)
        var delay: UInt64 = 0
        while !reader.isAtEnd {
            guard let (field, value) = reader.next() else { return nil }
            guard field == 1, case .bytes(let duration) = value else { continue }
            var inner = WireReader(duration)
            var seconds: Int64 = 0, nanos: Int32 = 0
            while !inner.isAtEnd {
                guard let (f, v) = inner.next() else { return nil }
                if case .varint(let n) = v {
                    if f == 1 { seconds = Int64(bitPattern: n) }
                    if f == 2 { nanos = Int32(truncatingIfNeeded: n) }
                }
            }
            guard seconds >= 0 else {
                delay = 0
                continue
            }
            let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
            delay = overflow ? .max : whole &+ UInt64(max(0, nanos))
        }
        return delay
    }

    /// Standard or URL-safe base64, padded or not.
    static func base64Decode(_ text: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.count * 3 / 4)
        var accumulator: UInt32 = 0, bits = 0
        for c in text where c != UInt8(ascii: "=") {
            let v: UInt32
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "+"), UInt8(ascii: "-"): v = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): v = 63
            default: return nil
            }
            accumulator = accumulator << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return out
    }
}

/// The few protobuf wire types a status needs: varints and length-delimited fields (fixed
/// widths are skipped). nil from `next` means malformed.
private struct WireReader {
    enum Value {
        case varint(UInt64)
        case bytes(ArraySlice<UInt8>)
        case skipped
    }

    private var bytes: ArraySlice<UInt8>
    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    var isAtEnd: Bool { bytes.isEmpty }

    mutating func next() -> (UInt64, Value)? {
        guard let key = varint() else { return nil }
        switch key & 7 {
        case 0:
            guard let v = varint() else { return nil }
            return (key >> 3, .varint(v))
        case 2:
            guard let length = varint(), length <= UInt64(bytes.count) else { return nil }
            let payload = bytes.prefix(Int(length))
            bytes = bytes.dropFirst(Int(length))
            return (key >> 3, .bytes(payload))
        case 1, 5:
            let width = key & 7 == 1 ? 8 : 4
            guard bytes.count >= width else { return nil }
            bytes = bytes.dropFirst(width)
            return (key >> 3, .skipped)
        default:
            return nil
        }
    }

    private mutating func varint() -> UInt64? {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 70, by: 7) {
            guard let byte = bytes.popFirst() else { return nil }
            value |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte & 0x80 == 0 { return value }
        }
        return nil
    }
}
