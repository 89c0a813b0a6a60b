import AttributeActions
import CollectorCore
import OTLPCodec

/// The `attributes` processor: applies its actions to the attributes of each span or log
/// record that `include` (when given) matches and `exclude` (when given) does not, as the
/// OpenTelemetry Collector's does.
///
/// On the wire format: the request is laid out to its items (`OTLPRequestLayout`); an item the
/// actions only add attributes to is copied with the new ones after it, one whose attributes
/// they change is written again with its other fields as they were and its attributes after
/// them; every other byte is copied. A request no action changes passes as it came.
/// Stateless.
public final class AttributesProcessor: Processor {
    let editor: AttributeEditor
    let include: Matcher?
    let exclude: Matcher?
    private let logger: Logger

    public init(settings: AttributesSettings, logger: Logger) {
        editor = AttributeEditor(settings.actions)
        include = settings.include.map(Matcher.init)
        exclude = settings.exclude.map(Matcher.init)
        self.logger = logger
    }

    public var nextDeadline: UInt64? { nil }
    public func timerFired(now: UInt64, emit: (TelemetryBatch) -> Void) {}
    public func flush(emit: (TelemetryBatch) -> Void) {}

    public func process(_ batch: TelemetryBatch, now: UInt64, emit: (TelemetryBatch) -> Void) {
        WireRewrite.process(batch, logger: logger, what: "attribute actions", emit: emit) { try rewrite($0, OTLPSignal(batch.signal)) }
    }

    /// The attributes field of an item: 9 in a Span, 6 in a LogRecord.
    static func attributesField(_ signal: OTLPSignal) -> UInt32 { signal == .traces ? 9 : 6 }

    func rewrite(_ raw: UnsafeRawBufferPointer, _ signal: OTLPSignal) throws -> [UInt8]? {
        let layout = try OTLPRequestLayout(signal, raw)
        let field = Self.attributesField(signal)
        let resources = layout.resources.map { Self.decoded(raw, OTLPAttributes.list(raw, $0.resourceMessage, field: 1)) }
        var replacements: [Int: [UInt8]] = [:]
        for (index, item) in layout.items.enumerated() {
            var attributes: [Range<Int>] = []
            var others: [Range<Int>] = []
            var facts = ItemFacts(attributes: [], resource: resources[layout.scopes[item.scope].resource])
            // An absent kind is 0 on the wire (proto3 omits defaults).
            if signal == .traces { facts.spanKind = Self.kindNames[0] }
            facts.service = facts.resource.first { $0.key == "service.name" }.flatMap { if case .string(let s)? = $0.value { s } else { nil } }
            try OTLPMessageFields.each(raw, item.payload) { n, whole, payload, ld in
                if n == field, ld { attributes.append(payload); return }
                others.append(whole)
                switch (signal, n) {
                case (.traces, 5) where ld: facts.spanName = OTLPAttributes.string(raw, payload)
                case (.traces, 6) where !ld: facts.spanKind = Self.kindName(raw, payload)
                case (.logs, 3) where ld: facts.severityText = OTLPAttributes.string(raw, payload)
                case (.logs, 5) where ld:
                    if case .string(let r) = OTLPAttributes.anyValue(raw, payload) { facts.logBody = OTLPAttributes.string(raw, r) }
                default: break
                }
            }
            if include != nil || exclude != nil {
                facts.attributes = Self.decoded(raw, attributes)
                if let include, !include.matches(facts) { continue }
                if let exclude, exclude.matches(facts) { continue }
            }
            var list = AttributeList(raw, attributes)
            editor.apply(&list, source: raw)
            guard list.changed else { continue }
            var w = OTLPWireWriter(capacity: item.payload.count + 64)
            if list.editedSource {
                for r in others { w.raw(raw, r) }
                list.write(field: field, into: &w)
            } else {
                // Only attributes added (the usual insert / upsert of a new key): the item as
                // it was, the new ones after it.
                w.raw(raw, item.payload)
                list.writeAdded(field: field, into: &w)
            }
            replacements[index] = w.bytes
        }
        if replacements.isEmpty { return nil }
        return layout.write(0..<layout.items.count, from: raw) { replacements[$0] }
    }

    /// Attributes as matching compares them.
    static func decoded(_ raw: UnsafeRawBufferPointer, _ keyValues: [Range<Int>]) -> [(key: String, value: AttributeAction.Literal?)] {
        keyValues.map { kv in
            let (key, value) = OTLPAttributes.read(raw, kv)
            let literal: AttributeAction.Literal?
            switch value {
            case .string(let r): literal = .string(OTLPAttributes.string(raw, r))
            case .int(let i): literal = .int(i)
            case .double(let d): literal = .double(d)
            case .bool(let b): literal = .bool(b)
            case .other: literal = nil
            }
            return (OTLPAttributes.string(raw, key), literal)
        }
    }

    static let kindNames = ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
                            "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"]

    static func kindName(_ raw: UnsafeRawBufferPointer, _ payload: Range<Int>) -> String? {
        guard let v = OTLPMessageFields.varint(raw, payload), v < UInt64(kindNames.count) else { return nil }
        return kindNames[Int(v)]
    }
}
