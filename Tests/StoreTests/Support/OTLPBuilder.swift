/// A tiny protobuf encoder for the OTLP messages the tests need, written independently of the
/// code under test. Fields are written in field-number order, like the reference encoders.

enum TestValue: Hashable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case double(Double)
}

struct TestSpan: Hashable {
    var traceID: [UInt8]
    var spanID: [UInt8]
    var parentSpanID: [UInt8] = []
    var name: String
    var start: UInt64
    var end: UInt64
    var error = false
    var attributes: [String: TestValue] = [:]
}

struct TestLog: Hashable {
    var time: UInt64
    var traceID: [UInt8] = []
    var spanID: [UInt8] = []
    var body: String
}

/// One resource entry: its service (nil: no service.name), a scope name, and items.
struct TestResource<Item: Hashable>: Hashable {
    var service: String?
    var attributes: [String: TestValue] = [:]
    var scope = "test-scope"
    var items: [Item]
}

enum OTLPBuild {
    static func traces(_ resources: [TestResource<TestSpan>]) -> [UInt8] {
        var w = PBWriter()
        for r in resources {
            w.message(1) { rs in
                rs.message(1) { resource(&$0, r) }
                rs.message(2) { ss in
                    ss.message(1) { $0.string(1, r.scope) }
                    for span in r.items { ss.message(2) { spanMessage(&$0, span) } }
                }
            }
        }
        return w.bytes
    }

    static func logs(_ resources: [TestResource<TestLog>]) -> [UInt8] {
        var w = PBWriter()
        for r in resources {
            w.message(1) { rl in
                rl.message(1) { resource(&$0, r) }
                rl.message(2) { sl in
                    sl.message(1) { $0.string(1, r.scope) }
                    for log in r.items { sl.message(2) { logMessage(&$0, log) } }
                }
            }
        }
        return w.bytes
    }

    private static func resource<Item>(_ w: inout PBWriter, _ r: TestResource<Item>) {
        if let service = r.service { keyValue(&w, 1, "service.name", .string(service)) }
        for (k, v) in r.attributes.sorted(by: { $0.key < $1.key }) { keyValue(&w, 1, k, v) }
    }

    private static func spanMessage(_ w: inout PBWriter, _ s: TestSpan) {
        w.bytesField(1, s.traceID)
        w.bytesField(2, s.spanID)
        if !s.parentSpanID.isEmpty { w.bytesField(4, s.parentSpanID) }
        w.string(5, s.name)
        w.varintField(6, 2)  // SPAN_KIND_SERVER
        w.fixed64(7, s.start)
        w.fixed64(8, s.end)
        for (k, v) in s.attributes.sorted(by: { $0.key < $1.key }) { keyValue(&w, 9, k, v) }
        if s.error { w.message(15) { $0.string(2, "failed"); $0.varintField(3, 2) } }
    }

    private static func logMessage(_ w: inout PBWriter, _ l: TestLog) {
        w.fixed64(1, l.time)
        w.varintField(2, 9)  // SEVERITY_NUMBER_INFO
        w.message(5) { $0.string(1, l.body) }
        if !l.traceID.isEmpty { w.bytesField(9, l.traceID) }
        if !l.spanID.isEmpty { w.bytesField(10, l.spanID) }
    }

    private static func keyValue(_ w: inout PBWriter, _ field: UInt64, _ key: String, _ value: TestValue) {
        w.message(field) { kv in
            kv.string(1, key)
            kv.message(2) { any in
                switch value {
                case .string(let s): any.string(1, s)
                case .bool(let b): any.varintField(2, b ? 1 : 0)
                case .int(let i): any.varintField(3, UInt64(bitPattern: i))
                case .double(let d): any.fixed64(4, d.bitPattern)
                }
            }
        }
    }
}

struct PBWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func key(_ field: UInt64, _ type: UInt64) { varint(field << 3 | type) }

    mutating func varintField(_ field: UInt64, _ value: UInt64) {
        key(field, 0)
        varint(value)
    }

    mutating func fixed64(_ field: UInt64, _ value: UInt64) {
        key(field, 1)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    mutating func bytesField(_ field: UInt64, _ value: [UInt8]) {
        key(field, 2)
        varint(UInt64(value.count))
        bytes += value
    }

    mutating func string(_ field: UInt64, _ value: String) { bytesField(field, Array(value.utf8)) }

    mutating func message(_ field: UInt64, _ body: (inout PBWriter) -> Void) {
        var inner = PBWriter()
        body(&inner)
        bytesField(field, inner.bytes)
    }
}

/// Test ids: trace `n` is 16 bytes ending in n (with a marker byte so it is never all zero),
/// span `n` is 8 bytes.
func traceID(_ n: Int) -> [UInt8] {
    [0xAB] + [UInt8](repeating: 0, count: 7) + withUnsafeBytes(of: UInt64(n).bigEndian) { Array($0) }
}

func spanID(_ n: Int) -> [UInt8] {
    withUnsafeBytes(of: UInt64(n + 1).bigEndian) { Array($0) }
}
