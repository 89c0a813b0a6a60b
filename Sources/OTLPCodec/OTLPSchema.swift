internal import CProtobufC
internal import OTLPProto

/// A Swift-side table of the protobuf-c descriptors of every OTLP message this module handles,
/// built once from the generated C descriptors and shared read-only by all threads.
///
/// Messages and enums are referred to by index into `messages` / `enums`. Descriptor
/// addresses are kept as integers: they point at constant static data in the generated C code,
/// valid and immutable for the life of the process, which is what makes the table `Sendable`.
struct OTLPSchema: Sendable {
    /// Built on first use (Swift globals are initialized lazily and thread-safely).
    static let shared = OTLPSchema()

    // The tables hold only plain values (no references), so that walking them in the codecs'
    // inner loops costs no reference counting.
    private(set) var messages: [MessageSchema] = []
    /// Full names (`opentelemetry.proto.trace.v1.Span`), by message index.
    private(set) var messageNames: [String] = []
    /// All fields of all messages; message `m` owns `messages[m].fields`.
    private(set) var fields: [FieldSchema] = []
    /// Field number -> index into `fields` (-1: unknown); message `m` owns `messages[m].numbers`.
    private(set) var fieldByNumber: [Int32] = []
    /// Open-addressing hash tables of field names (JSON and proto) -> index into `fields` (-1:
    /// empty slot), a power of two per message, at most a quarter full; message `m` owns
    /// `messages[m].keys`.
    private(set) var keyTable: [Int32] = []
    /// The bytes of every field name (proto and JSON), referenced by `NameRef`.
    private(set) var names: [UInt8] = []
    private(set) var enums: [EnumSchema] = []
    private(set) var traceRequest = -1
    private(set) var logsRequest = -1
    private(set) var traceResponse = -1
    private(set) var logsResponse = -1
    private(set) var metricsRequest = -1
    private(set) var metricsResponse = -1

    func request(_ signal: OTLPSignal) -> Int {
        switch signal {
        case .traces: traceRequest
        case .logs: logsRequest
        case .metrics: metricsRequest
        }
    }

    func response(_ signal: OTLPSignal) -> Int {
        switch signal {
        case .traces: traceResponse
        case .logs: logsResponse
        case .metrics: metricsResponse
        }
    }

    /// The field of `message` with `number`, or nil when the message has no such field.
    func field(_ message: Int, number: UInt32) -> FieldSchema? {
        let m = messages[message]
        guard Int(number) < m.numbers.count else { return nil }
        let i = Int(fieldByNumber[m.numbers.lowerBound + Int(number)])
        return i < 0 ? nil : fields[i]
    }

    /// The index in `fields` of the field of `message` whose JSON or proto name is the key at
    /// `key` in `reader`'s text, -1 if none: a hash of the key's length and three of its bytes,
    /// then (almost always) one comparison. (An index, not the 80-byte `FieldSchema`: returning
    /// that cost the transcoder a store-forwarding stall on every key.)
    @inline(__always)
    func fieldIndex(_ message: Int, key: Range<Int>, in reader: JSONReader) -> Int {
        let text = reader.bytes(key)
        let table = messages[message].keys
        let mask = table.count - 1
        var slot = Int(Self.keyHash(text)) & mask
        return names.withUnsafeBytes { names in
            while true {
                let i = Int(keyTable[table.lowerBound + slot])
                if i < 0 { return -1 }
                if Self.equal(text, names, fields[i].jsonName) || Self.equal(text, names, fields[i].protoName) {
                    return i
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// Whether `text` is `name`, eight bytes at a time (names are short: a call to memcmp costs
    /// more than the comparison).
    @inline(__always)
    private static func equal(_ text: UnsafeRawBufferPointer, _ names: UnsafeRawBufferPointer, _ name: NameRef) -> Bool {
        let n = text.count
        guard n == Int(name.count) else { return false }
        guard n > 0 else { return true }
        let a = text.baseAddress!, b = names.baseAddress! + Int(name.start)
        var i = 0
        while i + 8 <= n {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                return false
            }
            i += 8
        }
        while i < n {
            if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }

    /// The key tables' hash: the length and the first, middle and last bytes (no loop over the
    /// key; collisions only cost a probe).
    @inline(__always)
    static func keyHash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let n = bytes.count
        guard n > 0 else { return 0 }
        var h = UInt32(truncatingIfNeeded: n) &* 0x9E37_79B1
        h ^= UInt32(bytes[0]) &* 0x85EB_CA6B
        h ^= UInt32(bytes[n / 2]) &* 0xC2B2_AE35
        h ^= UInt32(bytes[n - 1]) &* 0x27D4_EB2F
        return h ^ (h >> 15)
    }

    /// A field name as a string (for error messages).
    func string(_ name: NameRef) -> String {
        String(decoding: names[name.range], as: UTF8.self)
    }

    /// Index of the enum with full name `name` (`opentelemetry.proto.trace.v1.Span.SpanKind`),
    /// -1 when unknown.
    func enumeration(named name: String) -> Int {
        enums.firstIndex { $0.name == name } ?? -1
    }

    private var messageIndex: [UInt: Int] = [:]
    private var enumIndex: [UInt: Int] = [:]

    private init() {
        // The descriptor addresses are taken from initialized messages: Swift may copy an
        // imported `extern const` struct when asked for its address, a message's
        // `base.descriptor` is the real one.
        var traceReq = Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest()
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&traceReq)
        var logsReq = Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest()
        opentelemetry__proto__collector__logs__v1__export_logs_service_request__init(&logsReq)
        var traceResp = Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse()
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__init(&traceResp)
        var logsResp = Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse()
        opentelemetry__proto__collector__logs__v1__export_logs_service_response__init(&logsResp)
        var metricsReq = Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest()
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__init(&metricsReq)
        var metricsResp = Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse()
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__init(&metricsResp)
        traceRequest = add(traceReq.base.descriptor)
        logsRequest = add(logsReq.base.descriptor)
        traceResponse = add(traceResp.base.descriptor)
        logsResponse = add(logsResp.base.descriptor)
        metricsRequest = add(metricsReq.base.descriptor)
        metricsResponse = add(metricsResp.base.descriptor)
    }

    /// Adds `descriptor` and everything reachable from it; returns its index.
    private mutating func add(_ descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> Int {
        let address = UInt(bitPattern: descriptor)
        if let known = messageIndex[address] { return known }
        let index = messages.count
        messageIndex[address] = index
        let d = descriptor.pointee
        messages.append(MessageSchema(descriptorAddress: address, size: Int(d.sizeof_message), fields: 0..<0, numbers: 0..<0,
                                      keys: 0..<0))
        messageNames.append(String(cString: d.name))
        // Sub-messages first (recursively), then this message's fields as one block.
        var own: [FieldSchema] = []
        for i in 0..<Int(d.n_fields) {
            let f = d.fields[i]
            let kind = FieldKind(f.type)
            var sub = -1
            var enumeration = -1
            if kind == .message, let raw = f.descriptor {
                sub = add(raw.assumingMemoryBound(to: ProtobufCMessageDescriptor.self))
            } else if kind == .enumeration, let raw = f.descriptor {
                enumeration = addEnum(raw.assumingMemoryBound(to: ProtobufCEnumDescriptor.self))
            }
            let name = String(cString: f.name)
            var idBytes = 0
            if kind == .bytes {
                if name == "trace_id" { idBytes = 16 }
                if name == "span_id" || name == "parent_span_id" { idBytes = 8 }
            }
            var schemaField = FieldSchema(
                number: f.id, kind: kind, repeated: f.label == PROTOBUF_C_LABEL_REPEATED,
                oneof: f.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue) != 0,
                offset: Int(f.offset), quantifierOffset: Int(f.quantifier_offset),
                message: sub, enumeration: enumeration, idBytes: idBytes,
                defaultAddress: UInt(bitPattern: f.default_value),
                protoName: addName(name), jsonName: addName(Self.jsonName(name)))
            schemaField.packed = schemaField.repeated && f.flags & UInt32(PROTOBUF_C_FIELD_FLAG_PACKED.rawValue) != 0
            own.append(schemaField)
        }
        for i in own.indices where own[i].oneof {
            own[i].sharedOneof = own.contains { $0.oneof && $0.quantifierOffset == own[i].quantifierOffset && $0.number != own[i].number }
        }
        let maxNumber = own.map { Int($0.number) }.max() ?? 0
        var byNumber = [Int32](repeating: -1, count: maxNumber + 1)
        for (i, f) in own.enumerated() { byNumber[Int(f.number)] = Int32(fields.count + i) }
        messages[index].fields = fields.count..<(fields.count + own.count)
        messages[index].numbers = fieldByNumber.count..<(fieldByNumber.count + byNumber.count)
        var size = 8
        while size < own.count * 2 * 4 { size *= 2 }
        var table = [Int32](repeating: -1, count: size)
        for (i, f) in own.enumerated() {
            let nameRefs = [f.jsonName, f.protoName]
            for name in nameRefs {
                var slot = names[name.range].withUnsafeBytes { Int(Self.keyHash($0)) } & (size - 1)
                while table[slot] >= 0 { slot = (slot + 1) & (size - 1) }
                table[slot] = Int32(fields.count + i)
            }
        }
        messages[index].keys = keyTable.count..<(keyTable.count + size)
        keyTable.append(contentsOf: table)
        fields.append(contentsOf: own)
        fieldByNumber.append(contentsOf: byNumber)
        return index
    }

    private mutating func addName(_ name: String) -> NameRef {
        let start = names.count
        names.append(contentsOf: name.utf8)
        return NameRef(start: Int32(start), count: Int32(names.count - start))
    }

    private mutating func addEnum(_ descriptor: UnsafePointer<ProtobufCEnumDescriptor>) -> Int {
        let address = UInt(bitPattern: descriptor)
        if let known = enumIndex[address] { return known }
        let d = descriptor.pointee
        var values: [(name: [UInt8], value: Int32)] = []
        for i in 0..<Int(d.n_values) {
            values.append((Array(String(cString: d.values[i].name).utf8), d.values[i].value))
        }
        enumIndex[address] = enums.count
        enums.append(EnumSchema(name: String(cString: d.name), values: values))
        return enums.count - 1
    }

    /// protoc's JSON name: underscores dropped, the letter after each capitalized.
    static func jsonName(_ protoName: String) -> String {
        var out = ""
        var upperNext = false
        for c in protoName {
            if c == "_" {
                upperNext = true
            } else if upperNext {
                out += c.uppercased()
                upperNext = false
            } else {
                out.append(c)
            }
        }
        return out
    }
}

/// One message type.
struct MessageSchema: Sendable {
    /// Address of the `ProtobufCMessageDescriptor` (static C data).
    var descriptorAddress: UInt
    /// `sizeof` the C struct.
    var size: Int
    /// Its fields in `OTLPSchema.fields`, in descriptor order (ascending field number).
    var fields: Range<Int>
    /// Its slice of `OTLPSchema.fieldByNumber`, indexed by field number.
    var numbers: Range<Int>
    /// Its hash table of field names in `OTLPSchema.keyTable`.
    var keys: Range<Int>

    var descriptor: UnsafePointer<ProtobufCMessageDescriptor> {
        UnsafePointer(bitPattern: descriptorAddress)!
    }
}

/// A name's bytes in `OTLPSchema.names`.
struct NameRef: Sendable {
    var start: Int32
    var count: Int32
    var range: Range<Int> { Int(start)..<Int(start + count) }
}

/// One field of a message and where protobuf-c keeps it in the C struct.
struct FieldSchema: Sendable {
    var number: UInt32
    var kind: FieldKind
    var repeated: Bool
    /// Member of a oneof: `quantifierOffset` holds the `uint32_t` case (the set field's number).
    var oneof: Bool
    /// Member of a oneof with other members (AnyValue's `value`), as opposed to a proto3
    /// `optional` field, which the generator turned into a oneof of its own (HistogramDataPoint's
    /// `sum`, `min`, `max`): only members of such a oneof can exclude each other.
    var sharedOneof = false
    /// A repeated scalar written packed (proto3's default: HistogramDataPoint's `bucket_counts`).
    var packed = false
    /// Byte offset of the value in the C struct.
    var offset: Int
    /// Repeated: offset of the `size_t` count. Oneof: offset of the case.
    var quantifierOffset: Int
    /// Index in `OTLPSchema.messages` for message fields, else -1.
    var message: Int
    /// Index in `OTLPSchema.enums` for enum fields, else -1.
    var enumeration: Int
    /// 16 or 8 for the OTLP id fields (hex in JSON), 0 otherwise.
    var idBytes: Int
    /// Address of protobuf-c's default value (for strings, `protobuf_c_empty_string`).
    var defaultAddress: UInt
    /// The `.proto` name, `parent_span_id`.
    var protoName: NameRef
    /// The lowerCamelCase JSON name, `parentSpanId`.
    var jsonName: NameRef
}

struct EnumSchema: Sendable {
    var name: String
    var values: [(name: [UInt8], value: Int32)]

    func name(of value: Int32) -> [UInt8]? {
        values.first { $0.value == value }?.name
    }
}

/// The protobuf scalar types, as protobuf-c names them.
enum FieldKind: Sendable, Equatable {
    case int32, sint32, sfixed32, int64, sint64, sfixed64
    case uint32, fixed32, uint64, fixed64
    case float, double, bool, enumeration, string, bytes, message

    init(_ type: ProtobufCType) {
        switch type {
        case PROTOBUF_C_TYPE_INT32: self = .int32
        case PROTOBUF_C_TYPE_SINT32: self = .sint32
        case PROTOBUF_C_TYPE_SFIXED32: self = .sfixed32
        case PROTOBUF_C_TYPE_INT64: self = .int64
        case PROTOBUF_C_TYPE_SINT64: self = .sint64
        case PROTOBUF_C_TYPE_SFIXED64: self = .sfixed64
        case PROTOBUF_C_TYPE_UINT32: self = .uint32
        case PROTOBUF_C_TYPE_FIXED32: self = .fixed32
        case PROTOBUF_C_TYPE_UINT64: self = .uint64
        case PROTOBUF_C_TYPE_FIXED64: self = .fixed64
        case PROTOBUF_C_TYPE_FLOAT: self = .float
        case PROTOBUF_C_TYPE_DOUBLE: self = .double
        case PROTOBUF_C_TYPE_BOOL: self = .bool
        case PROTOBUF_C_TYPE_ENUM: self = .enumeration
        case PROTOBUF_C_TYPE_STRING: self = .string
        case PROTOBUF_C_TYPE_BYTES: self = .bytes
        default: self = .message
        }
    }

    /// The wire type protobuf-c requires for a non-packed value of this kind.
    var wireType: ProtoWire.WireType {
        switch self {
        case .int32, .sint32, .int64, .sint64, .uint32, .uint64, .bool, .enumeration: .varint
        case .sfixed32, .fixed32, .float: .fixed32
        case .sfixed64, .fixed64, .double: .fixed64
        case .string, .bytes, .message: .lengthDelimited
        }
    }

    /// Size of one element in a protobuf-c repeated-field array.
    var elementSize: Int {
        switch self {
        case .int32, .sint32, .sfixed32, .uint32, .fixed32, .float, .enumeration, .bool: 4
        case .int64, .sint64, .sfixed64, .uint64, .fixed64, .double: 8
        case .string, .message: MemoryLayout<UnsafeRawPointer>.size
        case .bytes: MemoryLayout<ProtobufCBinaryData>.size
        }
    }

    /// 64-bit integers, which proto3 JSON writes as strings.
    var is64BitInteger: Bool {
        switch self {
        case .int64, .sint64, .sfixed64, .uint64, .fixed64: true
        default: false
        }
    }
}
