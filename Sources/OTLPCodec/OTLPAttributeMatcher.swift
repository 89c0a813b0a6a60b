#if canImport(Glibc)
internal import Glibc
#endif

/// A fixed set of attribute keys looked up in `KeyValue` lists where they lie, for components
/// that read a few attributes of every span (the RED connectors).
///
/// Design: each key has a slot; `fill` gives an empty slot the `AnyValue` of the first
/// attribute with the slot's key. A key is rejected on its length first (a bit mask of the
/// wanted lengths), then on its first eight bytes, and only then compared whole, so the
/// attributes no one asked for, most of them, cost a few loads. The same key may have several
/// slots (each is filled). Keys live in memory of the matcher's own (freed in `deinit`): the
/// hot loop touches no array and no reference count.
///
/// `@unchecked Sendable`: immutable after `init`; the memory it points to is never written again.
public final class OTLPAttributeMatcher: @unchecked Sendable {
    /// Slots (keys) in the order given.
    public var count: Int { keys.count }
    /// The keys as plain values (pointers into this matcher's memory): a span walk holds these,
    /// not the matcher, so reading a span retains and releases nothing. Valid while the
    /// matcher lives.
    let keys: Keys

    public init(_ keys: [[UInt8]]) {
        let count = keys.count
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(keys.reduce(0) { $0 + $1.count }, 1), alignment: 8)
        let offsets = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
        let lengths = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
        let prefixes = UnsafeMutablePointer<UInt64>.allocate(capacity: max(count, 1))
        var mask: UInt64 = 0, at = 0
        for (i, key) in keys.enumerated() {
            key.withUnsafeBytes { if let source = $0.baseAddress { (memory + at).copyMemory(from: source, byteCount: key.count) } }
            offsets[i] = at
            lengths[i] = key.count
            prefixes[i] = key.count >= 8 ? (memory + at).loadUnaligned(as: UInt64.self) : 0
            mask |= Keys.lengthBit(key.count)
            at += key.count
        }
        self.keys = Keys(count: count, bytes: memory, offsets: offsets, lengths: lengths, prefixes: prefixes, lengthMask: mask)
    }

    public convenience init(_ keys: [String]) { self.init(keys.map { Array($0.utf8) }) }

    deinit {
        keys.bytes.deallocate()
        keys.offsets.deallocate()
        keys.lengths.deallocate()
        keys.prefixes.deallocate()
    }

    /// Fills the empty slots of `values` (at least `count` of them) whose key is the key of the
    /// `KeyValue` at `keyValue` with the range of its `AnyValue` (empty, at the message's start,
    /// when it has none). A key with a one-byte length then at most one value with a one- or
    /// two-byte length (as encoders write it) is read in place; any other shape as
    /// `OTLPAttributes.keyAndValue` reads it (the last of repeated fields wins).
    @inline(__always)
    public func fill(_ bytes: UnsafeRawBufferPointer, _ keyValue: Range<Int>, into values: UnsafeMutableBufferPointer<Range<Int>?>) {
        keys.fill(bytes, keyValue, into: values)
    }

    /// `fill` for each of `keyValues`.
    public func fill(_ bytes: UnsafeRawBufferPointer, _ keyValues: [Range<Int>], into values: UnsafeMutableBufferPointer<Range<Int>?>) {
        for kv in keyValues { keys.fill(bytes, kv, into: values) }
    }

    /// The wanted keys, in memory the matcher owns: trivial values (no reference counting).
    struct Keys {
        let count: Int
        let bytes: UnsafeMutableRawPointer
        let offsets: UnsafeMutablePointer<Int>
        let lengths: UnsafeMutablePointer<Int>
        /// The first eight bytes of each key of eight bytes or more (little-endian load).
        let prefixes: UnsafeMutablePointer<UInt64>
        /// Bit n set: some key is n bytes long (n < 63); bit 63: some key is 63 bytes or longer.
        let lengthMask: UInt64

        @inline(__always)
        static func lengthBit(_ length: Int) -> UInt64 { 1 << UInt64(min(length, 63)) }

        /// `OTLPAttributeMatcher.fill`.
        @inline(__always)
        func fill(_ bytes: UnsafeRawBufferPointer, _ keyValue: Range<Int>, into values: UnsafeMutableBufferPointer<Range<Int>?>) {
            guard let base = bytes.baseAddress else { return }
            if let (key, value) = Self.plain(base, keyValue) {
                // Most attributes of a span end here, at the length test.
                if lengthMask & Self.lengthBit(key.count) != 0 { match(base, key, value, into: values) }
                return
            }
            fillReadingWhole(bytes, keyValue, into: values)
        }

        /// `fill` for any other shape, out of line (so that `fill` stays small enough to inline
        /// into a span walk).
        @inline(never)
        private func fillReadingWhole(_ bytes: UnsafeRawBufferPointer, _ keyValue: Range<Int>, into values: UnsafeMutableBufferPointer<Range<Int>?>) {
            guard let base = bytes.baseAddress else { return }
            let (key, value) = OTLPAttributes.keyAndValue(bytes, keyValue)
            guard lengthMask & Self.lengthBit(key.count) != 0 else { return }
            match(base, key, value, into: values)
        }

        /// The key and value of a `KeyValue` that is a key with a one-byte length, then nothing or
        /// one value with a one- or two-byte length; nil for any other shape.
        @inline(__always)
        private static func plain(_ base: UnsafeRawPointer, _ keyValue: Range<Int>) -> (Range<Int>, Range<Int>)? {
            let s = keyValue.lowerBound, e = keyValue.upperBound
            guard e &- s >= 2, base.load(fromByteOffset: s, as: UInt8.self) == 0x0A else { return nil }
            let length = Int(base.load(fromByteOffset: s &+ 1, as: UInt8.self))
            guard length < 0x80 else { return nil }
            let keyEnd = s &+ 2 &+ length
            if keyEnd == e { return ((s &+ 2)..<keyEnd, s..<s) }
            guard e &- keyEnd >= 2, base.load(fromByteOffset: keyEnd, as: UInt8.self) == 0x12 else { return nil }
            let b0 = Int(base.load(fromByteOffset: keyEnd &+ 1, as: UInt8.self))
            if b0 < 0x80 {
                return keyEnd &+ 2 &+ b0 == e ? ((s &+ 2)..<keyEnd, (keyEnd &+ 2)..<e) : nil
            }
            guard e &- keyEnd >= 3 else { return nil }
            let b1 = Int(base.load(fromByteOffset: keyEnd &+ 2, as: UInt8.self))
            guard b1 < 0x80, b1 > 0 else { return nil }   // a non-minimal length is not the plain shape
            return keyEnd &+ 3 &+ ((b0 & 0x7F) | b1 << 7) == e ? ((s &+ 2)..<keyEnd, (keyEnd &+ 3)..<e) : nil
        }

        @inline(__always)
        private func match(_ base: UnsafeRawPointer, _ key: Range<Int>, _ value: Range<Int>, into values: UnsafeMutableBufferPointer<Range<Int>?>) {
            let length = key.count
            let head: UInt64 = length >= 8 ? (base + key.lowerBound).loadUnaligned(as: UInt64.self) : 0
            for i in 0..<count where lengths[i] == length && prefixes[i] == head && values[i] == nil {
                if length != 8 && length > 0 && memcmp(base + key.lowerBound, self.bytes + offsets[i], length) != 0 { continue }
                values[i] = value
            }
        }
    }
}
