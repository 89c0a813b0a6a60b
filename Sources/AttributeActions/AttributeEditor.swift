import COpenSSL
import OTLPCodec

/// Applies a list of actions to an attribute list, in order, as the OTel Collector's
/// `attraction.AttrProc.Process` does:
/// - `insert` sets the key only when it is absent, `update` only when present, `upsert` always;
///   the value is the literal or, with `from_attribute`, that attribute's (nothing when absent).
/// - `delete` removes the key, or every key `pattern` matches.
/// - `hash` replaces the value (of the key, or of every key `pattern` matches) by the lowercase
///   hex SHA-256 of its bytes: a string's UTF-8, a bool's one byte, an int's or a double's
///   eight little-endian bytes (upstream's default since v0.78).
/// - `extract` runs `pattern` on the key's string value and upserts one attribute per named
///   group with what it matched ("" for a group that took no part).
/// - `convert` turns the value into `int` (from a decimal string, a truncated double, a bool
///   as 1/0), `double` or `string`; a value that does not convert is left as it is.
public struct AttributeEditor: Sendable {
    public let actions: [AttributeAction]
    /// Each action's key as bytes (built once, not per item).
    private let keys: [[UInt8]]
    private let fromKeys: [[UInt8]?]

    public init(_ actions: [AttributeAction]) {
        self.actions = actions
        keys = actions.map { Array($0.key.utf8) }
        fromKeys = actions.map { $0.fromAttribute.map { Array($0.utf8) } }
    }

    /// A decoded value, as far as the actions need one.
    enum Decoded {
        case string(String), int(Int64), double(Double), bool(Bool), other
    }

    public func apply(_ list: inout AttributeList, source: UnsafeRawBufferPointer) {
        for (n, action) in actions.enumerated() {
            let key = keys[n]
            switch action.kind {
            case .insert, .update, .upsert:
                let present = list.index(of: key) != nil
                if action.kind == .insert && present { continue }
                if action.kind == .update && !present { continue }
                if let literal = action.value {
                    list.set(key, .owned(Self.encode(literal)))
                } else if let from = fromKeys[n], let i = list.index(of: from) {
                    list.set(key, list.entries[i].value)
                }
            case .delete:
                for i in targets(action, key, list).reversed() { list.remove(at: i) }
            case .hash:
                for i in targets(action, key, list) {
                    list.set(at: i, .owned(Self.encode(.string(Self.sha256(decode(list.entries[i].value, source))))))
                }
            case .extract:
                guard let pattern = action.pattern, let i = list.index(of: key),
                      case .string(let text) = decode(list.entries[i].value, source) else { continue }
                var utf8 = Array(text.utf8)
                guard let groups = utf8.withUnsafeBytes({ pattern.groups($0) }) else { continue }
                for (g, name) in pattern.groupNames.enumerated() {
                    guard let name, !name.isEmpty else { continue }
                    let piece = groups[g].map { String(decoding: utf8[$0], as: UTF8.self) } ?? ""
                    list.set(Array(name.utf8), .owned(Self.encode(.string(piece))))
                }
                utf8 = []
            case .convert:
                guard let type = action.convertedType, let i = list.index(of: key),
                      let converted = Self.convert(decode(list.entries[i].value, source), to: type) else { continue }
                list.set(key, .owned(Self.encode(converted)))
            }
        }
    }

    /// The positions the action applies to: its key, or the keys its pattern matches.
    private func targets(_ action: AttributeAction, _ key: [UInt8], _ list: AttributeList) -> [Int] {
        if let pattern = action.pattern, action.key.isEmpty {
            return list.entries.indices.filter { i in list.withKey(i) { pattern.matches($0) } }
        }
        return list.index(of: key).map { [$0] } ?? []
    }

    func decode(_ value: AttributeList.Value, _ source: UnsafeRawBufferPointer) -> Decoded {
        switch value {
        case .borrowed(let r): return Self.decode(OTLPAttributes.anyValue(source, r), source)
        case .owned(let bytes):
            return bytes.withUnsafeBytes { Self.decode(OTLPAttributes.anyValue($0, 0..<$0.count), $0) }
        }
    }

    static func decode(_ v: OTLPValue, _ source: UnsafeRawBufferPointer) -> Decoded {
        switch v {
        case .string(let r): .string(OTLPAttributes.string(source, r))
        case .int(let i): .int(i)
        case .double(let d): .double(d)
        case .bool(let b): .bool(b)
        case .other: .other
        }
    }

    /// A serialized `AnyValue`.
    public static func encode(_ literal: AttributeAction.Literal) -> [UInt8] {
        var w = OTLPWireWriter()
        switch literal {
        case .string(let s): w.bytesField(1, Array(s.utf8))
        case .bool(let b): w.varintField(2, b ? 1 : 0)
        case .int(let i): w.varintField(3, UInt64(bitPattern: i))
        case .double(let d): w.fixed64Field(4, d.bitPattern)
        }
        return w.bytes
    }

    /// Upstream's hasher input per type, SHA-256, lowercase hex ("" for other types).
    static func sha256(_ value: Decoded) -> String {
        var bytes: [UInt8]
        switch value {
        case .string(let s): bytes = Array(s.utf8)
        case .bool(let b): bytes = [b ? 1 : 0]
        case .int(let i): bytes = withUnsafeBytes(of: i.littleEndian) { Array($0) }
        case .double(let d): bytes = withUnsafeBytes(of: d.bitPattern.littleEndian) { Array($0) }
        case .other: return ""
        }
        var digest = [UInt8](repeating: 0, count: 32)
        _ = bytes.withUnsafeBufferPointer { SHA256($0.baseAddress, $0.count, &digest) }
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in digest { out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    static func convert(_ value: Decoded, to type: AttributeAction.ConvertedType) -> AttributeAction.Literal? {
        switch (type, value) {
        case (.int, .int(let i)): return .int(i)
        case (.int, .double(let d)): return d.isFinite && abs(d) < 9.2e18 ? .int(Int64(d)) : nil
        case (.int, .bool(let b)): return .int(b ? 1 : 0)
        case (.int, .string(let s)): return Int64(s).map { .int($0) }
        case (.double, .double(let d)): return .double(d)
        case (.double, .int(let i)): return .double(Double(i))
        case (.double, .bool(let b)): return .double(b ? 1 : 0)
        case (.double, .string(let s)): return Double(s).map { .double($0) }
        case (.string, .string(let s)): return .string(s)
        case (.string, .int(let i)): return .string(String(i))
        case (.string, .double(let d)): return .string(d == d.rounded() && abs(d) < 1e21 ? String(Int64(d)) : String(d))
        case (.string, .bool(let b)): return .string(b ? "true" : "false")
        default: return nil
        }
    }
}
