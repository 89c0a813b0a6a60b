#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import OTLPCodec
import SystemIO

/// Encodes `ExportLogsServiceRequest`s (one ResourceLogs with the file's Kubernetes metadata,
/// one ScopeLogs with the records) straight from the bytes read, without a buffer per record.
///
/// State: records are written into `scratch`, a buffer reused from batch to batch (it keeps its
/// capacity, so tailing at full speed allocates one array per batch: the payload). Each record's
/// size is computed before it is written, so nested lengths need no second buffer; `finish`
/// writes the three enclosing headers and copies the records behind them once.
struct LogsRequestEncoder {
    /// Record attributes and the resource, pre-encoded once per batch.
    private let resource: [UInt8]
    private let fileAttributes: [UInt8]
    private let scratch: ScratchBuffer
    private(set) var observedUnixNano: UInt64
    private(set) var count = 0
    /// File offset just after the last record added.
    private(set) var endOffset: Int64 = 0

    init(scratch: ScratchBuffer, resourceAttributes: [(String, String)], fileAttributes: [(String, String)], observedUnixNano: UInt64) {
        var res = ProtoBytes()
        for (k, v) in resourceAttributes { res.stringAttribute(1, key: k, value: v) }
        var attrs = ProtoBytes()
        for (k, v) in fileAttributes { attrs.stringAttribute(6, key: k, value: v) }
        self.resource = res.bytes
        self.fileAttributes = attrs.bytes
        self.scratch = scratch
        self.observedUnixNano = observedUnixNano
        scratch.count = 0
    }

    /// Bytes of the records so far.
    var byteCount: Int { scratch.count }

    /// Adds a record whose body is `body` (invalid UTF-8 is replaced with U+FFFD).
    mutating func add(body: UnsafeRawBufferPointer, endOffset: Int64) {
        if UTF8Validation.isValid(body) {
            write(body: body, time: 0, severityNumber: 0, severityText: nil, attributes: [], typed: [], encoded: [],
                  traceID: [], spanID: [], flags: 0)
        } else {
            let fixed = Array(String(decoding: body, as: UTF8.self).utf8)
            fixed.withUnsafeBytes {
                write(body: $0, time: 0, severityNumber: 0, severityText: nil, attributes: [], typed: [], encoded: [],
                      traceID: [], spanID: [], flags: 0)
            }
        }
        count += 1
        self.endOffset = endOffset
    }

    /// Adds an assembled record (CRI/docker/multiline, or enriched by `parse_json`/`json_parser`).
    mutating func add(_ e: LogEntry) {
        e.body.withUnsafeBytes { raw in
            let fixed: [UInt8]? = UTF8Validation.isValid(raw) ? nil : Array(String(decoding: raw, as: UTF8.self).utf8)
            if let fixed {
                fixed.withUnsafeBytes { write(body: $0, time: e.timeUnixNano, severityNumber: e.severityNumber, severityText: e.severityText,
                                              attributes: e.attributes, typed: e.typedAttributes, encoded: e.encodedAttributes,
                                              traceID: e.traceID, spanID: e.spanID,
                                              flags: e.traceFlags) }
            } else {
                write(body: raw, time: e.timeUnixNano, severityNumber: e.severityNumber, severityText: e.severityText,
                      attributes: e.attributes, typed: e.typedAttributes, encoded: e.encodedAttributes,
                                              traceID: e.traceID, spanID: e.spanID, flags: e.traceFlags)
            }
        }
        count += 1
        endOffset = e.endOffset
    }

    /// `LogRecord` fields: 1 time (fixed64), 2 severity_number, 3 severity_text, 5 body
    /// (AnyValue.string_value), 6 attributes, 8 flags (fixed32), 9 trace_id, 10 span_id,
    /// 11 observed time.
    private mutating func write(body: UnsafeRawBufferPointer, time: UInt64, severityNumber: UInt64, severityText: String?,
                                attributes: [(String, String)], typed: [(String, AttributeValue)], encoded: [UInt8],
                                traceID: [UInt8], spanID: [UInt8],
                                flags: UInt32) {
        let anyValue = 1 + varintSize(body.count) + body.count
        var size = 1 + varintSize(anyValue) + anyValue + fileAttributes.count + 9
        if time != 0 { size += 9 }
        if severityNumber != 0 { size += 1 + varintSize(Int(severityNumber)) }
        if let severityText { size += 1 + varintSize(severityText.utf8.count) + severityText.utf8.count }
        for (k, v) in attributes { size += 1 + varintSize(ProtoBytes.attributeSize(k, v)) + ProtoBytes.attributeSize(k, v) }
        for (k, v) in typed { size += 1 + varintSize(ProtoBytes.attributeSize(k, v)) + ProtoBytes.attributeSize(k, v) }
        size += encoded.count
        if flags != 0 { size += 5 }
        if !traceID.isEmpty { size += 2 + traceID.count }
        if !spanID.isEmpty { size += 2 + spanID.count }

        var w = scratch.reserve(1 + varintSize(size) + size)
        w.byte(0x12)                      // ScopeLogs.log_records
        w.varint(UInt64(size))
        if time != 0 { w.byte(0x09); w.fixed64(time) }
        if severityNumber != 0 { w.byte(0x10); w.varint(severityNumber) }
        if let severityText { w.byte(0x1a); w.string(severityText) }
        w.byte(0x2a)                      // body
        w.varint(UInt64(anyValue))
        w.byte(0x0a)                      // AnyValue.string_value
        w.varint(UInt64(body.count))
        w.bytes(body)
        fileAttributes.withUnsafeBytes { w.bytes($0) }
        for (k, v) in attributes { w.attribute(0x32, k, v) }
        for (k, v) in typed { w.attribute(0x32, k, v) }
        encoded.withUnsafeBytes { w.bytes($0) }
        if flags != 0 { w.byte(0x45); w.fixed32(flags) }
        if !traceID.isEmpty { w.byte(0x4a); w.varint(UInt64(traceID.count)); traceID.withUnsafeBytes { w.bytes($0) } }
        if !spanID.isEmpty { w.byte(0x52); w.varint(UInt64(spanID.count)); spanID.withUnsafeBytes { w.bytes($0) } }
        w.byte(0x59)                      // observed_time_unix_nano
        w.fixed64(observedUnixNano)
        scratch.commit(w)
    }

    /// The request so far, with its record count and end offset; the encoder starts over (with
    /// a fresh observed time for the next records).
    mutating func take() -> EncodedLogs {
        let batch = EncodedLogs(payload: finish(), count: count, endOffset: endOffset)
        count = 0
        observedUnixNano = Sys.wallClockNanos()
        return batch
    }

    /// The serialized request: `ResourceLogs{resource, ScopeLogs{records}}`. Empties the scratch.
    private func finish() -> [UInt8] {
        let records = scratch.count
        let scopeLogs = records
        var resourceLogs = 1 + varintSize(scopeLogs) + scopeLogs
        if !resource.isEmpty { resourceLogs += 1 + varintSize(resource.count) + resource.count }
        let total = 1 + varintSize(resourceLogs) + resourceLogs
        let out = [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            var w = ByteCursor(UnsafeMutableRawPointer(buffer.baseAddress!))
            w.byte(0x0a)                  // ExportLogsServiceRequest.resource_logs
            w.varint(UInt64(resourceLogs))
            if !resource.isEmpty {
                w.byte(0x0a)              // ResourceLogs.resource
                w.varint(UInt64(resource.count))
                resource.withUnsafeBytes { w.bytes($0) }
            }
            w.byte(0x12)                  // ResourceLogs.scope_logs
            w.varint(UInt64(scopeLogs))
            w.bytes(UnsafeRawBufferPointer(start: scratch.base, count: records))
            initialized = total
        }
        scratch.count = 0
        return out
    }
}

/// A finished request and the part of the file it covers.
struct EncodedLogs {
    var payload: [UInt8]
    var count: Int
    /// File offset just after its last record.
    var endOffset: Int64
}

@inline(__always)
func varintSize(_ n: Int) -> Int { ProtobufVarint.size(UInt64(n)) }

@inline(__always)
func varintSize(_ n: UInt64) -> Int { ProtobufVarint.size(n) }

/// A growable byte buffer that keeps its memory between batches. Confined to the tailer's queue
/// (it is a class so that encoders made one after another share it).
final class ScratchBuffer {
    private(set) var base: UnsafeMutableRawPointer
    private var capacity: Int
    var count = 0

    init(capacity: Int = 256 << 10) {
        self.capacity = capacity
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    /// A cursor for writing exactly `n` more bytes.
    func reserve(_ n: Int) -> ByteCursor {
        if count + n > capacity {
            let bigger = max(capacity * 2, count + n)
            let fresh = UnsafeMutableRawPointer.allocate(byteCount: bigger, alignment: 16)
            fresh.copyMemory(from: base, byteCount: count)
            base.deallocate()
            base = fresh
            capacity = bigger
        }
        return ByteCursor(base + count)
    }

    func commit(_ cursor: ByteCursor) {
        count = cursor.position - base
    }
}

/// Writes protobuf pieces at a raw position; the caller guarantees the room.
struct ByteCursor {
    private(set) var position: UnsafeMutableRawPointer
    init(_ p: UnsafeMutableRawPointer) { position = p }

    @inline(__always) mutating func byte(_ b: UInt8) {
        position.storeBytes(of: b, as: UInt8.self)
        position += 1
    }

    @inline(__always) mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            byte(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        byte(UInt8(v))
    }

    @inline(__always) mutating func fixed64(_ v: UInt64) {
        position.storeBytes(of: v.littleEndian, toByteOffset: 0, as: UInt64.self)
        position += 8
    }

    @inline(__always) mutating func fixed32(_ v: UInt32) {
        position.storeBytes(of: v.littleEndian, toByteOffset: 0, as: UInt32.self)
        position += 4
    }

    @inline(__always) mutating func bytes(_ b: UnsafeRawBufferPointer) {
        guard let from = b.baseAddress, b.count > 0 else { return }
        position.copyMemory(from: from, byteCount: b.count)
        position += b.count
    }

    mutating func string(_ s: String) {
        var copy = s
        copy.withUTF8 { u in
            varint(UInt64(u.count))
            bytes(UnsafeRawBufferPointer(u))
        }
    }

    /// `KeyValue{key, value: AnyValue{string_value}}` under tag `tag`.
    mutating func attribute(_ tag: UInt8, _ key: String, _ value: String) {
        let size = ProtoBytes.attributeSize(key, value)
        byte(tag)
        varint(UInt64(size))
        byte(0x0a)
        string(key)
        byte(0x12)
        varint(UInt64(1 + varintSize(value.utf8.count) + value.utf8.count))
        byte(0x0a)
        string(value)
    }

    /// `KeyValue{key, value}` under tag `tag`, for a typed value.
    mutating func attribute(_ tag: UInt8, _ key: String, _ value: AttributeValue) {
        if case .string(let s) = value { return attribute(tag, key, s) }
        byte(tag)
        varint(UInt64(ProtoBytes.attributeSize(key, value)))
        byte(0x0a)
        string(key)
        byte(0x12)
        varint(UInt64(ProtoBytes.valueSize(value)))
        switch value {
        case .string: break
        case .bool(let b): byte(0x10); byte(b ? 1 : 0)                                 // AnyValue.bool_value
        case .int(let n): byte(0x18); varint(UInt64(bitPattern: n))                    // AnyValue.int_value
        case .double(let d): byte(0x21); fixed64(d.bitPattern)                         // AnyValue.double_value
        }
    }
}

/// A small array-backed protobuf writer for the parts encoded once per batch.
struct ProtoBytes {
    var bytes: [UInt8] = []

    static func attributeSize(_ key: String, _ value: String) -> Int {
        let k = key.utf8.count, v = value.utf8.count
        let anyValue = 1 + varintSize(v) + v
        return 1 + varintSize(k) + k + 1 + varintSize(anyValue) + anyValue
    }

    /// Size of the `AnyValue` message holding `value`.
    static func valueSize(_ value: AttributeValue) -> Int {
        switch value {
        case .string(let s): 1 + varintSize(s.utf8.count) + s.utf8.count
        case .bool: 2
        case .int(let n): 1 + varintSize(UInt64(bitPattern: n))
        case .double: 9
        }
    }

    static func attributeSize(_ key: String, _ value: AttributeValue) -> Int {
        let k = key.utf8.count, v = valueSize(value)
        return 1 + varintSize(k) + k + 1 + varintSize(v) + v
    }

    mutating func stringAttribute(_ field: UInt32, key: String, value: String) {
        let size = ProtoBytes.attributeSize(key, value)
        let total = 1 + varintSize(size) + size
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: total))
        bytes.withUnsafeMutableBytes { raw in
            var w = ByteCursor(raw.baseAddress! + start)
            w.attribute(UInt8(field << 3 | 2), key, value)
        }
    }
}
