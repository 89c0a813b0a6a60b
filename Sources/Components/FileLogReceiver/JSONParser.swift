/// The OTel `json_parser` operator (`parse_from: body`, `parse_to: attributes`), applied to
/// each assembled record.
///
/// When the body is a JSON object, its top-level fields become record attributes: strings as
/// string values, numbers as doubles (integers as int values with `parse_ints: true`), other numbers as
/// doubles, booleans as bools; nulls are skipped, and nested objects and arrays become their
/// compact JSON text (a string value; the OTel Collector makes them maps and slices). The body
/// stays the original text. Other bodies pass unchanged (`on_error: send`). Then the configured
/// fields set the record's time, severity and trace context; a field that is missing or does
/// not parse leaves the record as it was.
///
/// A JSON field named like a record attribute replaces it (`log.iostream` from the container
/// operator); one named like a file attribute (`log.file.name`, `log.file.path`), which is
/// written for every record of a batch, is dropped so that no key appears twice.
struct JSONParser {
    let settings: JSONParserSettings
    /// `parse_json` is on too: its well-known fields are read from the same parse.
    let parseJSON: Bool
    let fileAttributeKeys: [String]
    /// `fileAttributeKeys` as bytes, and the fast path's buffers reused from record to record
    /// (see `JSONParser+Wire.swift`).
    let fileAttributeKeyBytes: [[UInt8]]
    let scratch = MemberScratch()
    /// Something looks fields up by path (time, severity, trace context, `parse_json`): the
    /// general path with its tree, for every record. Fixed by the settings, so decided once.
    let needsTree: Bool

    init(settings: JSONParserSettings, parseJSON: Bool, fileAttributeKeys: [String]) {
        self.settings = settings
        self.parseJSON = parseJSON
        self.fileAttributeKeys = fileAttributeKeys
        fileAttributeKeyBytes = fileAttributeKeys.map { Array($0.utf8) }
        needsTree = parseJSON || settings.timestamp != nil || settings.severity != nil || settings.traceID != nil
            || settings.spanID != nil || settings.traceFlags != nil
    }


    func apply(_ e: inout LogEntry) {
        if !needsTree, let encoded = encodeMembers(e.body, recordAttributes: &e.attributes) {
            e.encodedAttributes = encoded
            return
        }
        applyGenerally(&e)
    }

    /// The general path: the body parsed into `MiniJSON`, then typed attributes.
    func applyGenerally(_ e: inout LogEntry) {
        guard let first = e.body.first(where: { $0 != 0x20 && $0 != 0x09 }), first == UInt8(ascii: "{"),
              let members = MiniJSON.parseObjectMembers(e.body) else {
            if parseJSON { JSONBody.enrich(&e) }
            return
        }
        // The whole object as a tree only when something looks fields up by path.
        let json: MiniJSON = needsTree ? .object(Dictionary(members, uniquingKeysWith: { _, last in last })) : .null
        if parseJSON { JSONBody.enrich(&e, json) }
        // By key; of a key given twice the last value (as a JSON object's).
        let order = members.indices.sorted { members[$0].0 != members[$1].0 ? members[$0].0 < members[$1].0 : $0 < $1 }
        var typed: [(String, AttributeValue)] = []
        typed.reserveCapacity(members.count)
        for (k, index) in order.enumerated() {
            let (key, value) = members[index]
            if k + 1 < order.count && members[order[k + 1]].0 == key { continue }
            guard let v = attributeValue(value), !fileAttributeKeys.contains(key) else { continue }
            typed.append((key, v))
        }
        if !e.attributes.isEmpty {
            e.attributes.removeAll { a in typed.contains { $0.0 == a.0 } }
        }
        e.typedAttributes = typed

        if let t = settings.timestamp, let value = Self.lookup(json, t.parseFrom), let nanos = Self.time(value, t.layout) {
            e.timeUnixNano = nanos
        }
        if let path = settings.severity, let value = Self.lookup(json, path) {
            let text: String?
            switch value {
            case .string(let s): text = s
            case .number(let n): text = n
            default: text = nil
            }
            if let text {
                e.severityText = text
                e.severityNumber = Self.severityNumber(text)
            }
        }
        if let path = settings.traceID, let t = Self.lookup(json, path)?.string.flatMap(Checkpoint.unhex), t.count == 16,
           t.contains(where: { $0 != 0 }) {
            e.traceID = t
        }
        if let path = settings.spanID, let s = Self.lookup(json, path)?.string.flatMap(Checkpoint.unhex), s.count == 8,
           s.contains(where: { $0 != 0 }) {
            e.spanID = s
        }
        if let path = settings.traceFlags, let f = Self.lookup(json, path)?.string.flatMap(Checkpoint.unhex), f.count == 1 {
            e.traceFlags = UInt32(f[0])
        }
    }

    func attributeValue(_ value: MiniJSON) -> AttributeValue? {
        switch value {
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .null: return nil
        case .number(let n):
            if settings.parseInts, let i = Int64(n) { return .int(i) }
            if let d = Double(n), d.isFinite { return .double(d) }
            return .string(n)
        case .object, .array: return .string(value.compactText)
        }
    }

    static func lookup(_ json: MiniJSON, _ path: [String]) -> MiniJSON? {
        var v = json
        for key in path {
            guard let next = v[key] else { return nil }
            v = next
        }
        return v
    }

    /// The severity number of a level: its name (see `JSONBody.severityNumber`), or a number
    /// 1...24 taken as the OTel log data model's number (as the OTel default mapping does).
    static func severityNumber(_ text: String) -> UInt64 {
        let named = JSONBody.severityNumber(text)
        if named == 0, let n = UInt64(text), (1...24).contains(n) { return n }
        return named
    }

    static func time(_ value: MiniJSON, _ layout: JSONParserSettings.TimeLayout) -> UInt64? {
        switch layout {
        case .rfc3339:
            guard let s = value.string else { return nil }
            return TimestampParser.parse(Array(s.utf8))
        case .epoch(let unit):
            switch value {
            case .number(let n), .string(let n): return epoch(n, nanosPerUnit: unit)
            default: return nil
            }
        }
    }

    /// A non-negative decimal number of units since the epoch (`1704164645`, `1704164645.123`,
    /// `1.704164645123e9`) in nanoseconds; fraction digits below a nanosecond are dropped.
    static func epoch(_ text: String, nanosPerUnit unit: UInt64) -> UInt64? {
        let b = Array(text.utf8)
        var i = 0, whole: UInt64 = 0
        while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
            let (times10, o1) = whole.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(b[i] - 0x30))
            guard !o1, !o2 else { return nil }
            whole = sum
            i += 1
        }
        guard i > 0 else { return nil }
        var fraction: UInt64 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var scale = unit
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                scale /= 10
                fraction += UInt64(b[i] - 0x30) * scale
                i += 1
            }
            guard i > start else { return nil }
        }
        if i < b.count {
            // An exponent: through Double (microsecond precision for times in seconds).
            guard b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E"), let d = Double(text), d >= 0 else { return nil }
            let nanos = d * Double(unit)
            guard nanos < 1.8e19 else { return nil }
            return UInt64(nanos)
        }
        let (product, o1) = whole.multipliedReportingOverflow(by: unit)
        let (sum, o2) = product.addingReportingOverflow(fraction)
        return o1 || o2 ? nil : sum
    }
}
