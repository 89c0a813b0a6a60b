/// Checks that serialized bytes are a well-formed OTLP message, without decoding or allocating,
/// and counts resource / scope / item entries on the way.
///
/// The walk is driven by `OTLPSchema` (the protobuf-c descriptors) and accepts what
/// `protobuf_c_message_unpack` accepts, with four deliberate differences:
/// - nesting is limited to `maxDepth` messages. protobuf-c recurses once per nested message
///   without a limit, so a few kilobytes of nested `AnyValue`s would overflow the thread's
///   stack; everything that hands bytes to protobuf-c validates them here first;
/// - field number 0 is rejected (protobuf-c keeps it as an unknown field);
/// - a `bool` field must use the varint wire type (protobuf-c takes any);
/// - a field number above 2^29 - 1 (the protobuf maximum) is rejected: protobuf-c keeps the low
///   32 bits of a 5-byte key, `ProtoWire.Reader` (the scanner, splitter and samplers, which read
///   validated requests later) refuses such a key, and one request the receiver accepted but
///   the store could not read would fail a whole batch merged from many clients.
/// Known fields must carry their declared wire type; unknown fields are skipped (their framing
/// is still checked); groups (wire types 3, 4) and types 6, 7 are rejected. Strings are not
/// checked for UTF-8, as protobuf-c does not check them either.
struct WireValidator: Sendable {
    /// Maximum nesting, in messages, the request itself being level 1. Enough for
    /// ~30 levels of nested `AnyValue` maps; the C++ protobuf default is 100 as well.
    static let maxDepth = 100

    static let shared = WireValidator(schema: .shared)

    /// Entry counters, filled by `validate`.
    struct Counters {
        var resources = 0
        var scopes = 0
        var items = 0
    }

    // Rule word for one (message, field number): bits 0-2 expected wire type (7: unknown
    // field), bit 3 message, bit 4 packable repeated scalar, bits 5-6 counter slot
    // (1 resources, 2 scopes, 3 items), bits 16-31 the sub-message index.
    private static let unknownRule: UInt32 = 7
    private let rules: [UInt32]
    private let ruleStart: [Int]
    private let ruleCount: [Int]
    private let names: [String]

    init(schema: OTLPSchema) {
        var rules: [UInt32] = []
        var ruleStart: [Int] = []
        var ruleCount: [Int] = []
        // Counter slots: request.resource_* -> 1, resource.scope_* -> 2, scope.items -> 3 (for
        // metrics, the data points of each metric kind -> 3).
        var slots: [Int: [UInt32: UInt32]] = [:]
        for signal in OTLPSignal.allCases {
            let request = schema.request(signal)
            guard let resourceField = schema.field(request, number: 1) else { continue }
            slots[request, default: [:]][1] = 1
            let resource = resourceField.message
            guard let scopeField = schema.field(resource, number: 2) else { continue }
            slots[resource, default: [:]][2] = 2
            guard signal == .metrics else {
                slots[scopeField.message, default: [:]][2] = 3
                continue
            }
            // A metric's items are the data points of whichever of gauge, sum, histogram,
            // exponential_histogram or summary it holds (each one's field 1).
            guard let metricField = schema.field(scopeField.message, number: 2) else { continue }
            for number: UInt32 in [5, 7, 9, 10, 11] {
                guard let data = schema.field(metricField.message, number: number), data.message >= 0 else { continue }
                slots[data.message, default: [:]][1] = 3
            }
        }
        for (index, message) in schema.messages.enumerated() {
            ruleStart.append(rules.count)
            ruleCount.append(message.numbers.count)
            var words = [UInt32](repeating: Self.unknownRule, count: message.numbers.count)
            for field in schema.fields[message.fields] {
                var word = UInt32(field.kind.wireType.rawValue)
                if field.kind == .message { word |= 1 << 3 | UInt32(field.message) << 16 }
                if field.repeated && field.kind.wireType != .lengthDelimited { word |= 1 << 4 }
                word |= (slots[index]?[field.number] ?? 0) << 5
                words[Int(field.number)] = word
            }
            rules.append(contentsOf: words)
        }
        self.rules = rules
        self.ruleStart = ruleStart
        self.ruleCount = ruleCount
        self.names = schema.messageNames
    }

    /// Validates `bytes` as message `message` of the schema and returns its entry counts.
    /// Throws a short reason with the offset of the first problem.
    func validate(message: Int, _ bytes: UnsafeRawBufferPointer) throws(ProtoWire.WireError) -> Counters {
        var counters = Counters()
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else {
            return counters
        }
        try rules.withUnsafeBufferPointer { table in
            capture { () throws(ProtoWire.WireError) in
                try walk(message, base, 0, bytes.count, 1, &counters, table)
            }
        }.get()
        return counters
    }

    /// One message being walked: where it ends and its rules.
    private struct Frame {
        var message: Int
        var end: Int
        var firstRule: Int
        var numberOfRules: Int
    }

    /// Walks the message at `start..<end` and everything nested in it, depth first, with a
    /// stack of frames rather than recursion (a call per nested message cost more than its
    /// fields: OTLP requests are mostly small nested messages, attributes and their values).
    private func walk(
        _ message: Int, _ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ depth: Int,
        _ counters: inout Counters, _ table: UnsafeBufferPointer<UInt32>
    ) throws(ProtoWire.WireError) {
        try withUnsafeTemporaryAllocation(of: Frame.self, capacity: Self.maxDepth + 1) { (stack) throws(ProtoWire.WireError) in
            try walk(message, base, start, end, depth, &counters, table, stack)
        }
    }

    private func walk(
        _ message: Int, _ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ startDepth: Int,
        _ counters: inout Counters, _ table: UnsafeBufferPointer<UInt32>, _ stack: UnsafeMutableBufferPointer<Frame>
    ) throws(ProtoWire.WireError) {
        var depth = startDepth
        var top = 0
        stack[0] = Frame(message: message, end: end, firstRule: ruleStart[message], numberOfRules: ruleCount[message])
        var frame = stack[0]
        var p = start
        while true {
            if p >= frame.end {
                // This message is done: back to the one it is nested in.
                guard top > 0 else { return }
                top -= 1
                depth -= 1
                frame = stack[top]
                continue
            }
            let message = frame.message
            let end = frame.end
            let firstRule = frame.firstRule
            let numberOfRules = frame.numberOfRules
            let fieldStart = p
            // Key: a varint of at most 5 bytes, as protobuf-c reads it, holding a field number
            // of at most 29 bits, as `ProtoWire.Reader` (every reader after this one) requires.
            var key = UInt64(base[p])
            p += 1
            if key & 0x80 != 0 {
                key &= 0x7F
                var shift: UInt64 = 7
                while true {
                    guard p < end, shift < 35 else { throw ProtoWire.WireError("bad field key", offset: fieldStart) }
                    let byte = UInt64(base[p])
                    p += 1
                    key |= (byte & 0x7F) << shift
                    if byte & 0x80 == 0 { break }
                    shift += 7
                }
                guard key >> 3 <= 0x1FFF_FFFF else {
                    throw ProtoWire.WireError("invalid field number \(key >> 3)", offset: fieldStart)
                }
            }
            let number = Int(key >> 3)
            let wireType = UInt32(key & 7)
            guard number != 0 else { throw ProtoWire.WireError("field number 0", offset: fieldStart) }
            let rule = number < numberOfRules ? table[firstRule + number] : Self.unknownRule
            let expected = rule & 7
            if expected != Self.unknownRule && expected != wireType
                && !(wireType == 2 && rule & (1 << 4) != 0) {
                throw ProtoWire.WireError(
                    "field \(number) of \(names[message]) has wire type \(wireType), expected \(expected)",
                    offset: fieldStart)
            }
            switch wireType {
            case 0:
                // Most varints are one byte.
                if p < end && base[p] < 0x80 {
                    p += 1
                    break
                }
                var length = 0
                while true {
                    guard p < end else { throw ProtoWire.WireError("truncated varint", offset: fieldStart) }
                    let byte = base[p]
                    p += 1
                    length += 1
                    if byte & 0x80 == 0 { break }
                    if length == 10 { throw ProtoWire.WireError("varint longer than 10 bytes", offset: fieldStart) }
                }
            case 1:
                guard end - p >= 8 else { throw ProtoWire.WireError("truncated fixed64 field", offset: fieldStart) }
                p += 8
            case 5:
                guard end - p >= 4 else { throw ProtoWire.WireError("truncated fixed32 field", offset: fieldStart) }
                p += 4
            case 2:
                // Length: a varint of at most 5 bytes (protobuf-c's limit); most are one byte.
                var length = 0
                var shift = 0
                if p < end && base[p] < 0x80 {
                    length = Int(base[p])
                    p += 1
                } else {
                while true {
                    guard p < end, shift < 35 else {
                        throw ProtoWire.WireError("bad length prefix", offset: fieldStart)
                    }
                    let byte = Int(base[p])
                    p += 1
                    length |= (byte & 0x7F) << shift
                    if byte & 0x80 == 0 { break }
                    shift += 7
                }
                }
                guard length <= end - p else {
                    throw ProtoWire.WireError("truncated length-delimited field", offset: fieldStart)
                }
                let payloadEnd = p + length
                if rule & (1 << 3) != 0 {
                    guard depth < Self.maxDepth else {
                        throw ProtoWire.WireError(
                            "messages nested deeper than \(Self.maxDepth) levels", offset: fieldStart)
                    }
                    countField(rule, &counters)
                    // Into the nested message: its fields come next; then back to this one
                    // at its end.
                    let sub = Int(rule >> 16)
                    stack[top] = frame
                    top += 1
                    depth += 1
                    frame = Frame(message: sub, end: payloadEnd, firstRule: ruleStart[sub], numberOfRules: ruleCount[sub])
                    continue
                } else if rule & (1 << 4) != 0 {
                    try checkPacked(wireType: expected, base, p, payloadEnd, fieldStart)
                }
                p = payloadEnd
            default:
                throw ProtoWire.WireError("unsupported wire type \(wireType)", offset: fieldStart)
            }
            countField(rule, &counters)
        }
    }

    /// Counts a resource, scope or item entry (only the request, resource and scope levels have
    /// counted fields).
    @inline(__always)
    private func countField(_ rule: UInt32, _ counters: inout Counters) {
        guard rule & (3 << 5) != 0 else { return }
        switch (rule >> 5) & 3 {
        case 1: counters.resources += 1
        case 2: counters.scopes += 1
        default: counters.items += 1
        }
    }

    /// A packed repeated scalar: whole fixed-size elements, or terminated varints.
    private func checkPacked(
        wireType: UInt32, _ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ fieldStart: Int
    ) throws(ProtoWire.WireError) {
        switch wireType {
        case 1, 5:
            let size = wireType == 1 ? 8 : 4
            guard (end - start) % size == 0 else {
                throw ProtoWire.WireError("packed field length not a multiple of \(size)", offset: fieldStart)
            }
        default:
            var run = 0
            for i in start..<end {
                run = base[i] & 0x80 != 0 ? run + 1 : 0
                if run >= 10 { throw ProtoWire.WireError("bad packed varint", offset: fieldStart) }
            }
            if run != 0 { throw ProtoWire.WireError("truncated packed varint", offset: fieldStart) }
        }
    }
}
