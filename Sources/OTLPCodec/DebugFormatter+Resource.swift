internal import CProtobufC
internal import OTLPProto

typealias CResource = Opentelemetry__Proto__Resource__V1__Resource
typealias CScope = Opentelemetry__Proto__Common__V1__InstrumentationScope

/// Calls `body` with each non-null element of a protobuf-c repeated message field.
@inline(__always)
func forEach<T>(_ count: Int, _ array: UnsafeMutablePointer<UnsafeMutablePointer<T>?>?,
                _ body: (Int, UnsafeMutablePointer<T>) -> Void) {
    guard let array else { return }
    for i in 0..<count {
        if let element = array[i] { body(i, element) }
    }
}

/// The resource and scope parts shared by both signals.
extension DebugFormatter {
    func resource(_ level: Int, _ resource: UnsafeMutablePointer<CResource>?, into out: inout DebugText) {
        let r = resource?.pointee
        out.line(level, "resource.dropped_attributes_count", String(r?.dropped_attributes_count ?? 0))
        section(level, "resource.attributes", into: &out)
        if let r {
            out.attributes(level + 1, r.n_attributes, r.attributes)
            if r.n_entity_refs > 0 {
                section(level, "resource.entity_refs", into: &out)
                forEach(r.n_entity_refs, r.entity_refs) { _, ref in
                    out.indent(level + 1)
                    out.text("-> EntityRef type=")
                    out.quoted(ref.pointee.type)
                    out.text(" schema_url=")
                    out.quoted(ref.pointee.schema_url)
                    out.text(" id_keys=")
                    stringList(ref.pointee.n_id_keys, ref.pointee.id_keys, into: &out)
                    out.text(" description_keys=")
                    stringList(ref.pointee.n_description_keys, ref.pointee.description_keys, into: &out)
                    out.newline()
                }
            }
        }
    }

    private func stringList(_ count: Int, _ list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                            into out: inout DebugText) {
        out.text("[")
        if let list {
            for i in 0..<count {
                if i > 0 { out.text(", ") }
                out.quoted(list[i])
            }
        }
        out.text("]")
    }

    func scope(_ level: Int, _ scope: UnsafeMutablePointer<CScope>?, into out: inout DebugText) {
        let s = scope?.pointee
        out.quotedLine(level, "scope.name", s?.name)
        out.quotedLine(level, "scope.version", s?.version)
        out.line(level, "scope.dropped_attributes_count", String(s?.dropped_attributes_count ?? 0))
        section(level, "scope.attributes", into: &out)
        if let s { out.attributes(level + 1, s.n_attributes, s.attributes) }
    }

    /// A section header line `<name>:`.
    func section(_ level: Int, _ name: String, into out: inout DebugText) {
        out.indent(level)
        out.text(name)
        out.text(":")
        out.newline()
    }

    /// `service="..."`: the resource's `service.name` string attribute, `""` when absent.
    func service(_ resource: UnsafeMutablePointer<CResource>?, into out: inout DebugText) {
        out.text("service=")
        var found: UnsafePointer<CChar>?
        if let r = resource?.pointee {
            forEach(r.n_attributes, r.attributes) { _, kv in
                guard found == nil, let key = kv.pointee.key, strcmpBytes(key, "service.name"),
                      let value = kv.pointee.value?.pointee,
                      value.value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
                else { return }
                found = UnsafePointer(value.string_value)
            }
        }
        out.quoted(found)
    }
}

/// Whether C string `s` equals `literal`.
func strcmpBytes(_ s: UnsafePointer<CChar>, _ literal: StaticString) -> Bool {
    let n = literal.utf8CodeUnitCount
    for i in 0..<n where UInt8(bitPattern: s[i]) != literal.utf8Start[i] { return false }
    return s[n] == 0
}
