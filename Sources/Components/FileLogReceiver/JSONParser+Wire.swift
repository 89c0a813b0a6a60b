#if canImport(Glibc)
import Glibc
#endif

/// `json_parser`'s fast path: a JSON object body's top-level members written straight as OTLP
/// `KeyValue` record attributes (LogRecord field 6), without a Swift string, enum or dictionary
/// per field. It gives the same attributes, in the same order, as the general path
/// (`apply`'s typed attributes: sorted by key, the last of a key given twice, nulls and the
/// file attributes' keys left out), and takes only the bodies where that is simple: keys of
/// printable ASCII without escapes, string values without escapes and of valid UTF-8, numbers,
/// booleans and nulls. Anything else (an escape, a nested object or array, a key with other
/// characters, malformed JSON) returns nil and the general path decides.
/// One member: where its key is in the body, and its encoded `AnyValue` in the scratch
/// buffer (empty for null, which still hides an earlier member of the same key).
struct JSONMember {
    var key: Range<Int>
    var value: Range<Int>
    var isNull: Bool
}

/// The fast path's buffers, kept from record to record so that a record costs no allocation
/// but its attributes' own. A reference in the (value) parser: it is used by one tailer, on
/// its queue, one record at a time.
final class MemberScratch {
    var members: [JSONMember] = []
    var values: [UInt8] = []
    var order: [Int] = []
    var written: [Range<Int>] = []
}

extension JSONParser {
    private typealias Member = JSONMember

    /// The encoded attributes of `body`'s members, or nil for the general path. Removes from
    /// `recordAttributes` those whose key a member replaces (as the general path does).
    func encodeMembers(_ body: [UInt8], recordAttributes: inout [(String, String)]) -> [UInt8]? {
        body.withUnsafeBytes { b -> [UInt8]? in
            let scratch = self.scratch
            scratch.members.removeAll(keepingCapacity: true)
            scratch.values.removeAll(keepingCapacity: true)
            scratch.written.removeAll(keepingCapacity: true)
            guard scanObject(b, &scratch.members, &scratch.values) else { return nil }
            let members = scratch.members
            // By key (bytes, which for ASCII is the order of Swift strings), the last of equal
            // keys. (Insertion sort: a dozen members, mostly in order already.)
            scratch.order.removeAll(keepingCapacity: true)
            for i in members.indices {
                var j = scratch.order.count
                while j > 0, Self.compare(b, members[scratch.order[j - 1]].key, members[i].key) > 0 { j -= 1 }
                scratch.order.insert(i, at: j)
            }
            let order = scratch.order
            var out: [UInt8] = []
            out.reserveCapacity(scratch.values.count + members.count * 24)
            for (k, i) in order.enumerated() {
                let m = members[i]
                if k + 1 < order.count, Self.compare(b, members[order[k + 1]].key, m.key) == 0 { continue }
                if m.isNull || fileAttributeKeyBytes.contains(where: { Self.equal(b, m.key, $0) }) { continue }
                let keyLength = m.key.count, valueLength = m.value.count
                let size = 1 + varintSize(keyLength) + keyLength + 1 + varintSize(valueLength) + valueLength
                out.append(0x32)                            // LogRecord.attributes
                Self.appendVarint(UInt64(size), to: &out)
                out.append(0x0a)                            // KeyValue.key
                Self.appendVarint(UInt64(keyLength), to: &out)
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[m.key]))
                out.append(0x12)                            // KeyValue.value
                Self.appendVarint(UInt64(valueLength), to: &out)
                scratch.values.withUnsafeBytes { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[m.value])) }
                scratch.written.append(m.key)
            }
            if !recordAttributes.isEmpty {
                let written = scratch.written
                recordAttributes.removeAll { a in
                    var name = a.0
                    return name.withUTF8 { n in written.contains { Self.equal(b, $0, UnsafeRawBufferPointer(n)) } }
                }
            }
            return out
        }
    }

    /// Reads the object into `members`, encoding each value into `values`; false for anything
    /// the fast path leaves to the general one.
    private func scanObject(_ b: UnsafeRawBufferPointer, _ members: inout [Member], _ values: inout [UInt8]) -> Bool {
        var i = 0
        let n = b.count
        func skipSpace() {
            while i < n, b[i] == 0x20 || b[i] == 0x0a || b[i] == 0x0d || b[i] == 0x09 { i += 1 }
        }
        // Before the object only spaces and tabs, as the general path allows (a body starting
        // with CR or LF is not taken for JSON there).
        while i < n, b[i] == 0x20 || b[i] == 0x09 { i += 1 }
        guard i < n, b[i] == UInt8(ascii: "{") else { return false }
        i += 1
        skipSpace()
        if i < n, b[i] == UInt8(ascii: "}") {
            i += 1
            skipSpace()
            return i == n
        }
        while true {
            skipSpace()
            // Key: printable ASCII, no escape.
            guard i < n, b[i] == UInt8(ascii: "\"") else { return false }
            i += 1
            let keyStart = i
            while i < n, b[i] != UInt8(ascii: "\"") {
                guard b[i] >= 0x20, b[i] < 0x7F, b[i] != UInt8(ascii: "\\") else { return false }
                i += 1
            }
            guard i < n else { return false }
            let key = keyStart..<i
            i += 1
            skipSpace()
            guard i < n, b[i] == UInt8(ascii: ":") else { return false }
            i += 1
            skipSpace()
            guard i < n else { return false }
            let valueStart = values.count
            var isNull = false
            switch b[i] {
            case UInt8(ascii: "\""):
                i += 1
                let start = i
                while i < n, b[i] != UInt8(ascii: "\"") {
                    guard b[i] != UInt8(ascii: "\\") else { return false }
                    i += 1
                }
                guard i < n else { return false }
                let text = UnsafeRawBufferPointer(rebasing: b[start..<i])
                guard UTF8Validation.isValid(text) else { return false }
                Self.appendString(text, to: &values)
                i += 1
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                let word: [UInt8] = b[i] == UInt8(ascii: "t") ? Self.trueWord : b[i] == UInt8(ascii: "f") ? Self.falseWord : Self.nullWord
                guard n - i >= word.count, b[i..<(i + word.count)].elementsEqual(word) else { return false }
                i += word.count
                if word == Self.nullWord {
                    isNull = true
                } else {
                    values.append(0x10)                     // AnyValue.bool_value
                    values.append(word == Self.trueWord ? 1 : 0)
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                return false
            default:
                // A number, with MiniJSON's (lenient) reading of one and attributeValue's typing.
                let start = i
                while i < n, b[i] == 0x2d || b[i] == 0x2b || b[i] == 0x2e || b[i] == 0x65 || b[i] == 0x45 || (b[i] >= 0x30 && b[i] <= 0x39) {
                    i += 1
                }
                guard i > start else { return false }
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
                if settings.parseInts, let integer = Int64(text) {
                    values.append(0x18)                     // AnyValue.int_value
                    Self.appendVarint(UInt64(bitPattern: integer), to: &values)
                } else if let d = Double(text), d.isFinite {
                    values.append(0x21)                     // AnyValue.double_value
                    withUnsafeBytes(of: d.bitPattern.littleEndian) { values.append(contentsOf: $0) }
                } else {
                    Self.appendString(UnsafeRawBufferPointer(rebasing: b[start..<i]), to: &values)
                }
            }
            members.append(Member(key: key, value: valueStart..<values.count, isNull: isNull))
            skipSpace()
            guard i < n else { return false }
            if b[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            guard b[i] == UInt8(ascii: "}") else { return false }
            i += 1
            skipSpace()
            return i == n
        }
    }

    private static let trueWord = Array("true".utf8)
    private static let falseWord = Array("false".utf8)
    private static let nullWord = Array("null".utf8)

    /// `AnyValue.string_value`.
    private static func appendString(_ text: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(0x0a)
        appendVarint(UInt64(text.count), to: &out)
        out.append(contentsOf: text)
    }

    private static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// Byte order of two keys of the body.
    private static func compare(_ b: UnsafeRawBufferPointer, _ x: Range<Int>, _ y: Range<Int>) -> Int {
        let common = min(x.count, y.count)
        for k in 0..<common where b[x.lowerBound + k] != b[y.lowerBound + k] {
            return b[x.lowerBound + k] < b[y.lowerBound + k] ? -1 : 1
        }
        return x.count - y.count
    }

    private static func equal(_ b: UnsafeRawBufferPointer, _ key: Range<Int>, _ name: [UInt8]) -> Bool {
        name.withUnsafeBytes { equal(b, key, $0) }
    }

    private static func equal(_ b: UnsafeRawBufferPointer, _ key: Range<Int>, _ name: UnsafeRawBufferPointer) -> Bool {
        key.count == name.count && (key.isEmpty || memcmp(b.baseAddress! + key.lowerBound, name.baseAddress!, key.count) == 0)
    }
}
