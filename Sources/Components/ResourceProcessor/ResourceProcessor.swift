import AttributeActions
import CollectorCore
import OTLPCodec

/// The `resource` processor: applies its actions to the attributes of every resource of a
/// traces or logs request, as the OpenTelemetry Collector's does.
///
/// On the wire format: each `ResourceSpans` / `ResourceLogs` has its `Resource` message
/// rewritten (its attributes edited, its other fields copied); everything else is copied as
/// it is. A resource entry without a `Resource` gets one when an action adds attributes. A
/// request whose resources no action changed is passed on as it came. Stateless.
public final class ResourceProcessor: Processor {
    let editor: AttributeEditor
    private let logger: Logger

    public init(settings: ResourceSettings, logger: Logger) {
        editor = AttributeEditor(settings.actions)
        self.logger = logger
    }

    public var nextDeadline: UInt64? { nil }
    public func timerFired(now: UInt64, emit: (TelemetryBatch) -> Void) {}
    public func flush(emit: (TelemetryBatch) -> Void) {}

    public func process(_ batch: TelemetryBatch, now: UInt64, emit: (TelemetryBatch) -> Void) {
        WireRewrite.process(batch, logger: logger, what: "resource actions", emit: emit) { try rewrite($0) }
    }

    /// The request with every resource edited; nil when nothing changed.
    func rewrite(_ raw: UnsafeRawBufferPointer) throws -> [UInt8]? {
        var out = OTLPWireWriter(capacity: raw.count + 256)
        var changed = false
        try OTLPMessageFields.each(raw, 0..<raw.count) { number, whole, payload, lengthDelimited in
            guard number == 1, lengthDelimited else { return out.raw(raw, whole) }
            var entry = OTLPWireWriter(capacity: payload.count + 128)
            var sawResource = false
            try OTLPMessageFields.each(raw, payload) { n, w, p, ld in
                if n == 1, ld, !sawResource {
                    sawResource = true
                    entry.bytesField(1, try resource(raw, p, &changed))
                } else {
                    entry.raw(raw, w)
                }
            }
            if !sawResource {
                let created = try resource(raw, nil, &changed)
                if !created.isEmpty { entry.bytesField(1, created) }
            }
            out.bytesField(1, entry.bytes)
        }
        return changed ? out.bytes : nil
    }

    /// The `Resource` message at `range` (nil: none) with its attributes edited.
    private func resource(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>?, _ changed: inout Bool) throws -> [UInt8] {
        var attributes: [Range<Int>] = []
        var others: [Range<Int>] = []
        if let range {
            try OTLPMessageFields.each(raw, range) { n, w, p, ld in
                if n == 1, ld { attributes.append(p) } else { others.append(w) }
            }
        }
        var list = AttributeList(raw, attributes)
        editor.apply(&list, source: raw)
        var w = OTLPWireWriter()
        guard list.changed else {
            if let range { w.raw(raw, range) }
            return w.bytes
        }
        changed = true
        if !list.editedSource, let range {
            // Only attributes added: the Resource as it was, the new ones after it.
            w.raw(raw, range)
            list.writeAdded(field: 1, into: &w)
            return w.bytes
        }
        list.write(field: 1, into: &w)
        for r in others { w.raw(raw, r) }
        return w.bytes
    }
}
