import OTLPCodec
#if canImport(Glibc)
import Glibc
#endif

/// A message's attributes (repeated `KeyValue`) being edited: keys as bytes, values as
/// serialized `AnyValue` messages, borrowed from the request until an action replaces them.
public struct AttributeList {
    public enum Value {
        /// The `AnyValue` at this range of the source.
        case borrowed(Range<Int>)
        /// A new serialized `AnyValue`.
        case owned([UInt8])
    }

    /// A key: a range of the source (compared in place, never copied unless changed), or new.
    public enum Key {
        case borrowed(Range<Int>)
        case owned([UInt8])
    }

    /// The request the borrowed ranges point into; valid while the list is (lists live inside
    /// one `withUnsafeBytes` of the request).
    private let source: UnsafeRawBufferPointer
    public private(set) var entries: [(key: Key, value: Value)] = []
    /// Whether any action changed the list (else the source bytes can be kept as they are).
    public private(set) var changed = false
    /// Whether an entry that came from the source was changed or removed; when not, the
    /// changes are entries added after `sourceCount`, and the source's fields can be kept as
    /// they are with only the new ones written after them (`writeAdded`).
    public private(set) var editedSource = false
    /// Entries read from the source.
    public private(set) var sourceCount = 0

    /// The `KeyValue` messages at `keyValues` of `source` (a repeated key keeps its first entry,
    /// as pdata reads it).
    public init(_ source: UnsafeRawBufferPointer, _ keyValues: [Range<Int>]) {
        self.source = source
        entries.reserveCapacity(keyValues.count + 2)
        for kv in keyValues {
            let (key, value) = OTLPAttributes.keyAndValue(source, kv)
            if entries.contains(where: { if case .borrowed(let r) = $0.key { Self.equal(source, r, key) } else { false } }) { continue }
            entries.append((.borrowed(key), .borrowed(value)))
        }
        sourceCount = entries.count
    }

    private static func equal(_ source: UnsafeRawBufferPointer, _ a: Range<Int>, _ b: Range<Int>) -> Bool {
        a.count == b.count && (a.isEmpty || memcmp(source.baseAddress! + a.lowerBound, source.baseAddress! + b.lowerBound, a.count) == 0)
    }

    /// The bytes of entry `i`'s key, borrowed for `body`.
    public func withKey<T>(_ i: Int, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        switch entries[i].key {
        case .borrowed(let r): body(UnsafeRawBufferPointer(rebasing: source[r]))
        case .owned(let bytes): bytes.withUnsafeBytes(body)
        }
    }

    public func index(of key: [UInt8]) -> Int? {
        key.withUnsafeBytes { k in
            entries.indices.first { i in withKey(i) { $0.count == k.count && (k.isEmpty || memcmp($0.baseAddress!, k.baseAddress!, k.count) == 0) } }
        }
    }

    /// Entry `i`'s value when it is a string (a borrowed `AnyValue` with `string_value`).
    public func string(at i: Int) -> String? {
        guard case .borrowed(let r) = entries[i].value, case .string(let s) = OTLPAttributes.anyValue(source, r) else { return nil }
        return OTLPAttributes.string(source, s)
    }

    /// The string value of attribute `key`, if it has one.
    public func string(of key: [UInt8]) -> String? {
        index(of: key).flatMap { string(at: $0) }
    }

    /// Adds `key` with the serialized `AnyValue` `value` unless the key is there already (as
    /// enrichment does: what the source set wins). Returns whether it was added.
    @discardableResult
    public mutating func insert(_ key: [UInt8], _ value: [UInt8]) -> Bool {
        guard index(of: key) == nil else { return false }
        changed = true
        entries.append((.owned(key), .owned(value)))
        return true
    }

    mutating func set(_ key: [UInt8], _ value: Value) {
        changed = true
        if let i = index(of: key) {
            if i < sourceCount { editedSource = true }
            entries[i].value = value
        } else {
            entries.append((.owned(key), value))
        }
    }

    /// Sets entry `i`'s value.
    mutating func set(at i: Int, _ value: Value) {
        changed = true
        if i < sourceCount { editedSource = true }
        entries[i].value = value
    }

    mutating func remove(at i: Int) {
        changed = true
        if i < sourceCount { editedSource = true; sourceCount -= 1 }
        entries.remove(at: i)
    }

    /// The serialized `KeyValue` fields (`number` each: 1 for a Resource's attributes, 9 for a
    /// Span's, 6 for a LogRecord's).
    public func write(field number: UInt32, into w: inout OTLPWireWriter) {
        write(entries.indices, field: number, into: &w)
    }

    /// Only the entries added after the source's (when `editedSource` is false, the source's
    /// own fields followed by these are the whole new list).
    public func writeAdded(field number: UInt32, into w: inout OTLPWireWriter) {
        write(sourceCount..<entries.count, field: number, into: &w)
    }

    private func write(_ range: Range<Int>, field number: UInt32, into w: inout OTLPWireWriter) {
        for i in range {
            withKey(i) { key in
                switch entries[i].value {
                case .borrowed(let r): Self.keyValue(number, key, UnsafeRawBufferPointer(rebasing: source[r]), into: &w)
                case .owned(let bytes): bytes.withUnsafeBytes { Self.keyValue(number, key, $0, into: &w) }
                }
            }
        }
    }

    /// One `KeyValue` field, written straight into `w`.
    private static func keyValue(_ number: UInt32, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
                                 into w: inout OTLPWireWriter) {
        let size = 1 + ProtobufVarint.size(UInt64(key.count)) + key.count + 1 + ProtobufVarint.size(UInt64(value.count)) + value.count
        w.lengthDelimitedHeader(number, size)
        w.bytesField(1, key)
        w.bytesField(2, value)
    }
}
