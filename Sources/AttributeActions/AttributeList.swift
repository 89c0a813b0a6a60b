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
    }

    public func index(of key: [UInt8]) -> Int? { entries.firstIndex { $0.key == key } }

    mutating func set(_ key: [UInt8], _ value: Value) {
        changed = true
        if let i = index(of: key) { entries[i].value = value } else { entries.append((key, value)) }
    }

    mutating func remove(at i: Int) {
        changed = true
        entries.remove(at: i)
    }

    /// The serialized `KeyValue` fields (`number` each: 1 for a Resource's attributes, 9 for a
    /// Span's, 6 for a LogRecord's).
    public func write(field number: UInt32, source: UnsafeRawBufferPointer, into w: inout OTLPWireWriter) {
        for entry in entries {
            var kv = OTLPWireWriter()
            kv.bytesField(1, entry.key)
            switch entry.value {
            case .borrowed(let r): kv.bytesField(2, UnsafeRawBufferPointer(rebasing: source[r]))
            case .owned(let bytes): kv.bytesField(2, bytes)
            }
            w.bytesField(number, kv.bytes)
        }
    }
}
