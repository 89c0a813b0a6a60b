import OTLPCodec

/// Edits the `Resource` attributes of every resource entry (`ResourceSpans` / `ResourceLogs`)
/// of a traces or logs request on the wire format: each entry's `Resource` has its attributes
/// given to `edit` (with the entry's index, in payload order) and is written again only when
/// they changed; everything else is copied as it is, once, straight into the output (an
/// entry's new length is worked out before it is written). An entry without a `Resource` gets
/// one when `edit` adds attributes. Used by the `resource` and `k8sattributes` processors.
public enum ResourceRewrite {
    /// Writes the edited request into `out`; returns whether any entry changed (when not, the
    /// request should be passed on as it came and `out` discarded).
    public static func rewrite(_ raw: UnsafeRawBufferPointer, into out: inout OTLPWireWriter,
                               edit: (_ attributes: inout AttributeList, _ resourceIndex: Int) -> Void) throws -> Bool {
        var changed = false
        var index = 0
        try OTLPMessageFields.each(raw, 0..<raw.count) { number, whole, payload, lengthDelimited in
            guard number == 1, lengthDelimited else { return out.raw(raw, whole) }
            // The entry's first Resource field (a later one would be merged into it by a
            // protobuf parser; receivers' validation does not let one through).
            var resourceField: (whole: Range<Int>, payload: Range<Int>)?
            try OTLPMessageFields.each(raw, payload) { n, w, p, ld in
                if n == 1, ld, resourceField == nil { resourceField = (w, p) }
            }
            defer { index += 1 }
            guard let resource = try resource(raw, resourceField?.payload, index, edit) else { return out.raw(raw, whole) }
            changed = true
            let field = 1 + ProtobufVarint.size(UInt64(resource.count)) + resource.count
            if let resourceField {
                out.lengthDelimitedHeader(1, payload.count - resourceField.whole.count + field)
                out.raw(raw, payload.lowerBound..<resourceField.whole.lowerBound)
                out.bytesField(1, resource)
                out.raw(raw, resourceField.whole.upperBound..<payload.upperBound)
            } else {
                out.lengthDelimitedHeader(1, field + payload.count)
                out.bytesField(1, resource)
                out.raw(raw, payload)
            }
        }
        return changed
    }

    /// The same into a new buffer; nil when no entry changed.
    public static func rewrite(_ raw: UnsafeRawBufferPointer,
                               edit: (_ attributes: inout AttributeList, _ resourceIndex: Int) -> Void) throws -> [UInt8]? {
        var out = OTLPWireWriter(capacity: raw.count + 256)
        return try rewrite(raw, into: &out, edit: edit) ? out.take() : nil
    }

    /// The `Resource` message at `range` (nil: none) with its attributes edited, or nil when
    /// they did not change.
    private static func resource(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>?, _ index: Int,
                                 _ edit: (inout AttributeList, Int) -> Void) throws -> [UInt8]? {
        var attributes: [Range<Int>] = []
        var others: [Range<Int>] = []
        if let range {
            try OTLPMessageFields.each(raw, range) { n, w, p, ld in
                if n == 1, ld { attributes.append(p) } else { others.append(w) }
            }
        }
        var list = AttributeList(raw, attributes)
        edit(&list, index)
        guard list.changed else { return nil }
        var w = OTLPWireWriter(capacity: (range?.count ?? 0) + 256)
        if !list.editedSource, let range {
            // Only attributes added: the Resource as it was, the new ones after it.
            w.raw(raw, range)
            list.writeAdded(field: 1, into: &w)
            return w.take()
        }
        list.write(field: 1, into: &w)
        for r in others { w.raw(raw, r) }
        return w.take()
    }
}
