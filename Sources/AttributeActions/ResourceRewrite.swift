import OTLPCodec

/// Edits the `Resource` attributes of every resource entry (`ResourceSpans` / `ResourceLogs`)
/// of a traces or logs request on the wire format: each entry's `Resource` has its attributes
/// given to `edit` (with the entry's index, in payload order) and is written again only when
/// they changed; everything else is copied as it is. An entry without a `Resource` gets one
/// when `edit` adds attributes. Returns nil when no entry changed (the request is passed on
/// as it came). Used by the `resource` and `k8sattributes` processors.
public enum ResourceRewrite {
    public static func rewrite(_ raw: UnsafeRawBufferPointer,
                               edit: (_ attributes: inout AttributeList, _ resourceIndex: Int) -> Void) throws -> [UInt8]? {
        var out = OTLPWireWriter(capacity: raw.count + 256)
        var changed = false
        var index = 0
        try OTLPMessageFields.each(raw, 0..<raw.count) { number, whole, payload, lengthDelimited in
            guard number == 1, lengthDelimited else { return out.raw(raw, whole) }
            var entry = OTLPWireWriter(capacity: payload.count + 128)
            var sawResource = false
            try OTLPMessageFields.each(raw, payload) { n, w, p, ld in
                if n == 1, ld, !sawResource {
                    sawResource = true
                    entry.bytesField(1, try resource(raw, p, index, &changed, edit))
                } else {
                    entry.raw(raw, w)
                }
            }
            if !sawResource {
                let created = try resource(raw, nil, index, &changed, edit)
                if !created.isEmpty { entry.bytesField(1, created) }
            }
            out.bytesField(1, entry.bytes)
            index += 1
        }
        return changed ? out.bytes : nil
    }

    /// The `Resource` message at `range` (nil: none) with its attributes edited.
    private static func resource(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>?, _ index: Int, _ changed: inout Bool,
                                 _ edit: (inout AttributeList, Int) -> Void) throws -> [UInt8] {
        var attributes: [Range<Int>] = []
        var others: [Range<Int>] = []
        if let range {
            try OTLPMessageFields.each(raw, range) { n, w, p, ld in
                if n == 1, ld { attributes.append(p) } else { others.append(w) }
            }
        }
        var list = AttributeList(raw, attributes)
        edit(&list, index)
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
