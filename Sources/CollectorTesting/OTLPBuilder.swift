/// A tiny protobuf encoder for the OTLP messages the tests need, written independently of the
/// code under test (shared by the store's and the samplers' tests). Fields are written in field-number order, like the reference encoders.

public enum TestValue: Hashable, Sendable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case double(Double)
}

public struct TestSpan: Hashable, Sendable {
    public var traceID: [UInt8]
    public var spanID: [UInt8]
    public var traceState = ""
    public var parentSpanID: [UInt8] = []
    public var name: String
    public var start: UInt64
    public var end: UInt64
    public var error = false
    /// `Status.code` when not `error` (0 unset, 1 ok); `error` writes 2.
    public var statusCode: UInt64 = 0
    public var attributes: [String: TestValue] = [:]
    /// `SpanKind` number (2: server).
    public var kind: UInt64 = 2

    public init(traceID: [UInt8], spanID: [UInt8], traceState: String = "", parentSpanID: [UInt8] = [], name: String,
                start: UInt64, end: UInt64, error: Bool = false, statusCode: UInt64 = 0, attributes: [String: TestValue] = [:],
                kind: UInt64 = 2) {
        self.kind = kind
        self.traceID = traceID
        self.spanID = spanID
        self.traceState = traceState
        self.parentSpanID = parentSpanID
        self.name = name
        self.start = start
        self.end = end
        self.error = error
        self.statusCode = statusCode
        self.attributes = attributes
    }
}

public struct TestLog: Hashable, Sendable {
    public var time: UInt64
    public var traceID: [UInt8] = []
    public var spanID: [UInt8] = []
    public var body: String
    public var attributes: [String: TestValue] = [:]

    public init(time: UInt64, traceID: [UInt8] = [], spanID: [UInt8] = [], body: String, attributes: [String: TestValue] = [:]) {
        self.time = time
        self.traceID = traceID
        self.spanID = spanID
        self.body = body
        self.attributes = attributes
    }
}

/// One resource entry: its service (nil: no service.name), a scope name, and items.
public struct TestResource<Item: Hashable & Sendable>: Hashable, Sendable {
    public var service: String?
    public var attributes: [String: TestValue] = [:]
    public var scope = "test-scope"
    public var items: [Item]

    public init(service: String?, attributes: [String: TestValue] = [:], scope: String = "test-scope", items: [Item]) {
        self.service = service
        self.attributes = attributes
        self.scope = scope
        self.items = items
    }
}

public enum OTLPBuild {
    public static func traces(_ resources: [TestResource<TestSpan>]) -> [UInt8] {
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

    public static func logs(_ resources: [TestResource<TestLog>]) -> [UInt8] {
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
        if !s.traceState.isEmpty { w.string(3, s.traceState) }
        if !s.parentSpanID.isEmpty { w.bytesField(4, s.parentSpanID) }
        w.string(5, s.name)
        if s.kind != 0 { w.varintField(6, s.kind) }
        w.fixed64(7, s.start)
        w.fixed64(8, s.end)
        for (k, v) in s.attributes.sorted(by: { $0.key < $1.key }) { keyValue(&w, 9, k, v) }
        if s.error {
            w.message(15) { $0.string(2, "failed"); $0.varintField(3, 2) }
        } else if s.statusCode != 0 {
            w.message(15) { $0.varintField(3, s.statusCode) }
        }
    }

    private static func logMessage(_ w: inout PBWriter, _ l: TestLog) {
        w.fixed64(1, l.time)
        w.varintField(2, 9)  // SEVERITY_NUMBER_INFO
        w.message(5) { $0.string(1, l.body) }
        for (k, v) in l.attributes.sorted(by: { $0.key < $1.key }) { keyValue(&w, 6, k, v) }
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

public struct PBWriter {
    public var bytes: [UInt8] = []

    public init() {}

    public mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func key(_ field: UInt64, _ type: UInt64) { varint(field << 3 | type) }

    public mutating func varintField(_ field: UInt64, _ value: UInt64) {
        key(field, 0)
        varint(value)
    }

    public mutating func fixed64(_ field: UInt64, _ value: UInt64) {
        key(field, 1)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    public mutating func bytesField(_ field: UInt64, _ value: [UInt8]) {
        key(field, 2)
        varint(UInt64(value.count))
        bytes += value
    }

    public mutating func string(_ field: UInt64, _ value: String) { bytesField(field, Array(value.utf8)) }

    public mutating func message(_ field: UInt64, _ body: (inout PBWriter) -> Void) {
        var inner = PBWriter()
        body(&inner)
        bytesField(field, inner.bytes)
    }
}

/// Test ids: trace `n` is 16 bytes ending in n (with a marker byte so it is never all zero),
/// span `n` is 8 bytes.
public func traceID(_ n: Int) -> [UInt8] {
    [0xAB] + [UInt8](repeating: 0, count: 7) + withUnsafeBytes(of: UInt64(n).bigEndian) { Array($0) }
}

public func spanID(_ n: Int) -> [UInt8] {
    withUnsafeBytes(of: UInt64(n + 1).bigEndian) { Array($0) }
}
