import OTLPCodec

/// A message's attributes (repeated `KeyValue`) being edited: keys as bytes, values as
/// serialized `AnyValue` messages, borrowed from the request until an action replaces them.
public struct AttributeList {
    public enum Value {
        /// The `AnyValue` at this range of the source.
        case borrowed(Range<Int>)
        /// A new serialized `AnyValue`.
        case owned([UInt8])
    }

    public var entries: [(key: [UInt8], value: Value)] = []
    /// Whether any action changed the list (else the source bytes can be kept as they are).
    public private(set) var changed = false
    /// Whether an entry that came from the source was changed or removed; when not, the
    /// changes are entries added after `sourceCount`, and the source's fields can be kept as
    /// they are with only the new ones written after them (`writeAdded`).
    public private(set) var editedSource = false
    /// Entries read from the source.
    public private(set) var sourceCount = 0

    public init() {}

    /// The `KeyValue` messages at `keyValues` of `source` (a repeated key keeps its first entry,
    /// as pdata reads it).
    public init(_ source: UnsafeRawBufferPointer, _ keyValues: [Range<Int>]) {
        for kv in keyValues {
            var key: Range<Int>?
            var value: Range<Int>?
            try? OTLPMessageFields.each(source, kv) { number, _, payload, lengthDelimited in
                guard lengthDelimited else { return }
                if number == 1 { key = payload }
                if number == 2 { value = payload }
            }
            let k = Array(UnsafeRawBufferPointer(rebasing: source[key ?? kv.lowerBound..<kv.lowerBound]))
            if entries.contains(where: { $0.key == k }) { continue }
            entries.append((k, .borrowed(value ?? kv.lowerBound..<kv.lowerBound)))
        }
        sourceCount = entries.count
    }

    public func index(of key: [UInt8]) -> Int? { entries.firstIndex { $0.key == key } }

    mutating func set(_ key: [UInt8], _ value: Value) {
        changed = true
        if let i = index(of: key) {
            if i < sourceCount { editedSource = true }
            entries[i].value = value
        } else {
            entries.append((key, value))
        }
    }

    mutating func remove(at i: Int) {
        changed = true
        if i < sourceCount { editedSource = true; sourceCount -= 1 }
        entries.remove(at: i)
    }

    /// The serialized `KeyValue` fields (`number` each: 1 for a Resource's attributes, 9 for a
    /// Span's, 6 for a LogRecord's).
    public func write(field number: UInt32, source: UnsafeRawBufferPointer, into w: inout OTLPWireWriter) {
        write(entries[...], field: number, source: source, into: &w)
    }

    /// Only the entries added after the source's (when `editedSource` is false, the source's
    /// own fields followed by these are the whole new list).
    public func writeAdded(field number: UInt32, source: UnsafeRawBufferPointer, into w: inout OTLPWireWriter) {
        write(entries[sourceCount...], field: number, source: source, into: &w)
    }

    private func write(_ list: ArraySlice<(key: [UInt8], value: Value)>, field number: UInt32, source: UnsafeRawBufferPointer,
                       into w: inout OTLPWireWriter) {
        for entry in list {
            let value: UnsafeRawBufferPointer
            switch entry.value {
            case .borrowed(let r): value = UnsafeRawBufferPointer(rebasing: source[r])
            case .owned: value = UnsafeRawBufferPointer(start: nil, count: 0)
            }
            let valueCount = if case .owned(let bytes) = entry.value { bytes.count } else { value.count }
            let size = 1 + ProtobufVarint.size(UInt64(entry.key.count)) + entry.key.count
                + 1 + ProtobufVarint.size(UInt64(valueCount)) + valueCount
            w.lengthDelimitedHeader(number, size)
            w.bytesField(1, entry.key)
            if case .owned(let bytes) = entry.value { w.bytesField(2, bytes) } else { w.bytesField(2, value) }
        }
    }
}
