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
/// One refusal of protobuf-c's is copied although protobuf says the message is valid: a singular
/// message field given more than once is merged (`merge_messages`), and protobuf-c 1.4 fails the
/// merge when the field's type has a oneof that neither the value so far nor the new one sets.
/// A value so far is lost, not kept, when the new occurrence sets no member and the old member
/// is a string or empty bytes (protobuf-c copies only members that differ from their default).
/// So the validator follows such a field (in OTLP: `KeyValue.value` and `LogRecord.body`, an
/// `AnyValue`) through its occurrences and refuses the message where protobuf-c's merge fails
/// (found by fuzzing; no SDK writes a field twice). The merge also recurses into singular
/// message fields that both occurrences set; no OTLP type reaches a oneof that way, which
/// `init` checks.
/// A metric whose data (gauge, sum, histogram, exponential_histogram, summary) is given more
/// than once is refused: protobuf-c keeps only the last, so the data points counted here would
/// be lost in the exporters that unpack with it (found by fuzzing; no SDK writes that).
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
    // (1 resources, 2 scopes, 3 items), bit 7 member of a oneof, bits 8-15 merge bit (a
    // singular message field whose type has a oneof: one of these bits, its own within its
    // message; a metric's data fields share one), bit 16 a string, bit 17 bytes, bit 18 a
    // metric's data field (gauge, sum, histogram, exponential_histogram, summary), bits 20-31
    // the sub-message index.
    private static let unknownRule: UInt32 = 7
    private static let oneofBit: UInt32 = 1 << 7
    private static let mergeMask: UInt32 = 0xFF << 8
    private static let stringBit: UInt32 = 1 << 16
    private static let bytesBit: UInt32 = 1 << 17
    private static let dataBit: UInt32 = 1 << 18
    private static let subShift: UInt32 = 20
    private let rules: [UInt32]
    private let ruleStart: [Int]
    private let ruleCount: [Int]
    private let names: [String]
    /// The `KeyValue` message's index, for `isPlainAttribute`; -1 when the schema's rules are
    /// not the ones that check assumes (then every attribute takes the general walk).
    private let keyValue: Int

    init(schema: OTLPSchema) {
        var rules: [UInt32] = []
        var ruleStart: [Int] = []
        var ruleCount: [Int] = []
        // Counter slots: request.resource_* -> 1, resource.scope_* -> 2, scope.items -> 3 (for
        // metrics, the data points of each metric kind -> 3).
        var slots: [Int: [UInt32: UInt32]] = [:]
        var dataFields: [Int: [UInt32]] = [:]   // a metric's data fields, by the Metric message
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
                dataFields[metricField.message, default: []].append(number)
            }
        }
        precondition(schema.messages.count < 1 << (32 - Self.subShift), "too many messages for the rule words")
        // Merge bits, by message: each merged field has its own; a metric's data fields share
        // one, so any second one is seen as given again.
        var mergeGroups: [Int: [[UInt32]]] = dataFields.mapValues { [$0] }
        for field in Self.mergedFields(schema) { mergeGroups[field.message, default: []].append([field.number]) }
        for (index, message) in schema.messages.enumerated() {
            ruleStart.append(rules.count)
            ruleCount.append(message.numbers.count)
            var words = [UInt32](repeating: Self.unknownRule, count: message.numbers.count)
            for field in schema.fields[message.fields] {
                var word = UInt32(field.kind.wireType.rawValue)
                if field.kind == .message { word |= 1 << 3 | UInt32(field.message) << Self.subShift }
                if field.kind == .string { word |= Self.stringBit }
                if field.kind == .bytes { word |= Self.bytesBit }
                if field.repeated && field.kind.wireType != .lengthDelimited { word |= 1 << 4 }
                word |= (slots[index]?[field.number] ?? 0) << 5
                if field.oneof { word |= Self.oneofBit }
                if dataFields[index]?.contains(field.number) == true { word |= Self.dataBit }
                words[Int(field.number)] = word
            }
            let groups = mergeGroups[index] ?? []
            precondition(groups.count <= 8, "too many merged fields in \(schema.messageNames[index])")
            for (bit, group) in groups.enumerated() {
                for number in group { words[Int(number)] |= 1 << (8 + UInt32(bit)) }
            }
            rules.append(contentsOf: words)
        }
        self.rules = rules
        self.ruleStart = ruleStart
        self.ruleCount = ruleCount
        self.names = schema.messageNames
        self.keyValue = Self.plainAttributeIndex(schema.messageNames, rules, ruleStart, ruleCount)
    }

    /// The index of `KeyValue` when its rules and `AnyValue`'s are what `isPlainAttribute`
    /// assumes (key: field 1, a string; value: field 2, an `AnyValue` whose fields 1 string,
    /// 2 bool, 3 int, 4 double and 7 bytes are scalars, none merged or counted), else -1.
    private static func plainAttributeIndex(_ names: [String], _ rules: [UInt32], _ start: [Int], _ count: [Int]) -> Int {
        guard let kv = names.firstIndex(where: { $0 == "opentelemetry.proto.common.v1.KeyValue" }), count[kv] > 2 else { return -1 }
        func rule(_ message: Int, _ number: Int) -> UInt32 { number < count[message] ? rules[start[message] + number] : unknownRule }
        let valueRule = rule(kv, 2)
        let any = Int(valueRule >> subShift)
        guard rule(kv, 1) & 0xFF == 2, rule(kv, 1) & stringBit != 0, valueRule & 0xF == (2 | 1 << 3),
              any < names.count, names[any] == "opentelemetry.proto.common.v1.AnyValue" else { return -1 }
        let scalars: [(Int, UInt32)] = [(1, 2), (2, 0), (3, 0), (4, 1), (7, 2)]
        for (number, wireType) in scalars where rule(any, number) & 0x7F != wireType { return -1 }
        return kv
    }

    /// Whether attributes are checked by `isPlainAttribute` (tests: the schema matched).
    var checksPlainAttributes: Bool { keyValue >= 0 }

    /// Whether a serialized `KeyValue` is checked in place (tests).
    static func checksInPlace(_ keyValue: [UInt8]) -> Bool {
        keyValue.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return false }
            return isPlainAttribute(base, 0, buffer.count)
        }
    }

    /// Whether `base[start..<end]` is an attribute as SDKs write nearly all of them, which the
    /// general walk would accept: a `KeyValue` of exactly a key (field 1, one-byte length) then
    /// a value (field 2, one-byte length) holding at most one scalar member: a string or bytes
    /// (one-byte length) filling it, a bool or int (a varint of at most 9 bytes) or a double.
    /// Such a one is checked here, without two frames pushed and popped; anything else is left
    /// to the walk (which then reports what is wrong with it, if anything).
    @inline(__always)
    private static func isPlainAttribute(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        var p = start
        guard end - p >= 4, base[p] == 0x0A, base[p + 1] < 0x80 else { return false }
        p += 2 + Int(base[p + 1])
        guard end - p >= 2, base[p] == 0x12, base[p + 1] < 0x80, p + 2 + Int(base[p + 1]) == end else { return false }
        p += 2
        if p == end { return true }   // an empty value: no member set
        let tag = base[p]
        p += 1
        switch tag {
        case 0x0A, 0x3A:   // string_value, bytes_value
            return p < end && base[p] < 0x80 && p + 1 + Int(base[p]) == end
        case 0x10, 0x18:   // bool_value, int_value
            var length = 0
            while p < end && length < 9 {
                let byte = base[p]
                p += 1
                length += 1
                if byte < 0x80 { return p == end }
            }
            return false
        case 0x21:         // double_value
            return end - p == 8
        default:
            return false
        }
    }

    /// The singular message fields, not oneof members, whose type has a oneof: protobuf-c merges
    /// such a field given twice and fails when neither occurrence sets the oneof. Traps if a
    /// merge could reach a oneof one level further down (through a singular message field set
    /// in both occurrences), which the walk does not follow; no OTLP message does.
    static func mergedFields(_ schema: OTLPSchema) -> [(message: Int, number: UInt32)] {
        func hasOneof(_ message: Int) -> Bool {
            schema.fields[schema.messages[message].fields].contains(where: \.oneof)
        }
        var merged: [(message: Int, number: UInt32)] = []
        for (index, message) in schema.messages.enumerated() {
            for field in schema.fields[message.fields] where field.kind == .message && !field.repeated && !field.oneof {
                if hasOneof(field.message) {
                    let oneofs = Set(schema.fields[schema.messages[field.message].fields].filter(\.oneof).map(\.quantifierOffset))
                    precondition(oneofs.count == 1, "\(schema.messageNames[field.message]) has several oneofs: the walk follows one")
                    merged.append((index, field.number))
                } else {
                    let nested = schema.fields[schema.messages[field.message].fields]
                    precondition(!nested.contains { $0.kind == .message && !$0.repeated && !$0.oneof && hasOneof($0.message) },
                                 "a merge of \(schema.messageNames[index]) field \(field.number) reaches a oneof")
                }
            }
        }
        return merged
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

    /// One message being walked: where it starts and ends, its rules, and its merged fields: the
    /// field's merge bit (bits 0-7) once it was seen; that bit shifted by 8 once it was seen
    /// again, from when its value so far is followed (2 bits per field from bit 16, the `Merged`
    /// raw value). 32 bytes: a frame is stored and loaded for every nested message.
    private struct Frame {
        var start: Int
        var end: Int
        var message: Int32
        var firstRule: Int32
        var numberOfRules: Int32
        var merges: UInt32 = 0

        init(_ message: Int, _ start: Int, _ end: Int, rules: Int, count: Int) {
            self.start = start
            self.end = end
            self.message = Int32(truncatingIfNeeded: message)
            self.firstRule = Int32(truncatingIfNeeded: rules)
            self.numberOfRules = Int32(truncatingIfNeeded: count)
        }
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
        stack[0] = Frame(message, start, end, rules: ruleStart[message], count: ruleCount[message])
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
            let message = Int(frame.message)
            let end = frame.end
            let firstRule = Int(frame.firstRule)
            let numberOfRules = Int(frame.numberOfRules)
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
                    let sub = Int(rule >> Self.subShift)
                    let seen = (rule & Self.mergeMask) >> 8
                    if seen != 0 {
                        // Seen once: noted (the common case, no more work). Seen again: merged
                        // as protobuf-c merges it.
                        if frame.merges & seen == 0 {
                            frame.merges |= seen
                        } else {
                            frame.merges = try merge(number, seen, sub, base, p..<payloadEnd, frame, fieldStart, table)
                        }
                    }
                    if sub == keyValue, depth + 1 < Self.maxDepth, Self.isPlainAttribute(base, p, payloadEnd) {
                        p = payloadEnd   // an attribute checked whole: no frames for it and its value
                        continue
                    }
                    stack[top] = frame
                    top += 1
                    depth += 1
                    frame = Frame(sub, p, payloadEnd, rules: ruleStart[sub], count: ruleCount[sub])
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

    /// The error for a metric's data given again (out of line: in `merge`, the message's text
    /// slowed the walk's loop).
    @inline(never)
    private func dataGivenAgain(_ frame: Frame, _ offset: Int) -> ProtoWire.WireError {
        ProtoWire.WireError("\(names[Int(frame.message)]) gives its data (gauge, sum, histogram, exponential_histogram "
            + "or summary) more than once", offset: offset)
    }

    /// What a merged field's value so far is to protobuf-c's merge with a next occurrence that
    /// sets no member: `unset` fails the merge; `kept` is copied into it; `lost` (a string, or
    /// bytes of length 0: members equal to their default pointer are not copied) leaves the
    /// result unset.
    private enum Merged: UInt32 {
        case unset = 0, kept = 1, lost = 2
    }

    /// A later occurrence (`occurrence`) of merged field `number` (merge bit `seen`) of `frame`'s
    /// message: follows the value so far as protobuf-c merges it and refuses the occurrence
    /// where that merge fails. At the second occurrence, the first is found again from the
    /// message's start; later ones use the state kept in `frame.merges`. Each occurrence's keys
    /// are read once, without descending. Returns the frame's new `merges`. Kept out of line:
    /// inlined, it slowed the walk's loop by 8-14% (rare, but large).
    @inline(never)
    private func merge(
        _ number: Int, _ seen: UInt32, _ sub: Int, _ base: UnsafePointer<UInt8>, _ occurrence: Range<Int>,
        _ frame: Frame, _ fieldStart: Int, _ table: UnsafeBufferPointer<UInt32>
    ) throws(ProtoWire.WireError) -> UInt32 {
        // A metric's data given again (the data fields share one merge bit): protobuf-c keeps
        // the last, so the points of the others, counted here, would be lost in the exporters
        // that unpack with it (protobuf merges the same field given twice).
        if table[Int(frame.firstRule) + number] & Self.dataBit != 0 { throw dataGivenAgain(frame, fieldStart) }
        let shift = 16 + 2 * UInt32(seen.trailingZeroBitCount)
        var merges = frame.merges
        var state = Merged.unset
        if merges & seen << 8 == 0 {
            // The bytes before this field were walked already: they parse.
            var reader = ProtoWire.Reader(UnsafeRawBufferPointer(start: base, count: fieldStart), range: frame.start..<fieldStart)
            while let field = try? reader.next() {
                if field.number == number {
                    state = value(sub, base, field.payloadStart..<field.end, table) ?? .unset
                    break
                }
            }
            merges |= seen << 8
        } else {
            state = Merged(rawValue: (merges >> shift) & 3) ?? .unset
        }
        if let set = value(sub, base, occurrence, table) {
            state = set
        } else {
            switch state {
            case .unset:
                throw ProtoWire.WireError(
                    "field \(number) of \(names[Int(frame.message)]) given again with no value set in it or before "
                        + "(protobuf-c cannot merge them)", offset: fieldStart)
            case .kept: break
            case .lost: state = .unset
            }
        }
        return merges & ~(3 << shift) | state.rawValue << shift
    }

    /// The value one occurrence of a merged field (message `sub` at `range`) sets: nil when it
    /// has no oneof member, else what its last member is to a later merge. Read without
    /// descending; bytes that do not parse count as a kept value (the walk refuses them).
    private func value(
        _ sub: Int, _ base: UnsafePointer<UInt8>, _ range: Range<Int>, _ table: UnsafeBufferPointer<UInt32>
    ) -> Merged? {
        var reader = ProtoWire.Reader(UnsafeRawBufferPointer(start: base, count: range.upperBound), range: range)
        var last: Merged?
        do {
            while let field = try reader.next() {
                let number = Int(field.number)
                guard number < ruleCount[sub] else { continue }
                let rule = table[ruleStart[sub] + number]
                guard rule & Self.oneofBit != 0 else { continue }
                let empty = field.payloadStart == field.end
                last = rule & Self.stringBit != 0 || (rule & Self.bytesBit != 0 && empty) ? .lost : .kept
            }
        } catch {
            return .kept
        }
        return last
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
