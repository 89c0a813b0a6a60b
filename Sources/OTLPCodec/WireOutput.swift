/// A growable byte buffer for writing protobuf, with the few operations a one-pass encoder
/// needs beyond appending: a gap reserved for a length that is known only later, and moving a
/// written body down when that length turns out shorter than the gap.
///
/// The memory is owned by the value and freed by `release()`, which the owner calls exactly
/// once (the buffer is a plain pointer so that appending costs no uniqueness check).
struct WireOutput {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    func release() {
        base.deallocate()
    }

    /// The bytes written, as an array.
    func bytes() -> [UInt8] {
        [UInt8](UnsafeBufferPointer(start: base, count: count))
    }

    func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    @inline(__always)
    mutating func reserve(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    private mutating func grow(_ needed: Int) {
        let newCapacity = max(needed, capacity * 2)
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        grown.update(from: base, count: count)
        base.deallocate()
        base = grown
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func appendVarint(_ value: UInt64) {
        reserve(10)
        var v = value
        while v >= 0x80 {
            base[count] = UInt8(truncatingIfNeeded: v) | 0x80
            count += 1
            v >>= 7
        }
        base[count] = UInt8(v)
        count += 1
    }

    /// Appends the low `size` bytes of `value`, little-endian (fixed32 / fixed64).
    @inline(__always)
    mutating func appendFixed(_ value: UInt64, size: Int) {
        reserve(size)
        for i in 0..<size { base[count + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        count += size
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        reserve(bytes.count)
        UnsafeMutableRawPointer(base + count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        count += bytes.count
    }

    /// Appends `n` bytes the caller fills in with `withBytes(at:)`.
    mutating func appendUninitialized(_ n: Int) -> Int {
        reserve(n)
        let at = count
        count += n
        return at
    }

    func withBytes<R>(at offset: Int, count n: Int, _ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
        body(UnsafeMutableRawBufferPointer(start: base + offset, count: n))
    }

    /// Number of bytes a length gap holds: enough for any length below 2^35.
    static let lengthGap = 5

    /// Reserves a gap for a length prefix; returns its offset for `closeLength(gap:)`.
    mutating func openLength() -> Int {
        appendUninitialized(Self.lengthGap)
    }

    /// Writes the length of everything after the gap at `gap` in its shortest varint form and
    /// moves those bytes down to follow it.
    mutating func closeLength(gap: Int) {
        let bodyStart = gap + Self.lengthGap
        let length = count - bodyStart
        let size = ProtobufVarint.size(UInt64(length))
        var v = UInt64(length)
        var p = gap
        while v >= 0x80 {
            base[p] = UInt8(truncatingIfNeeded: v) | 0x80
            p += 1
            v >>= 7
        }
        base[p] = UInt8(v)
        if size < Self.lengthGap {
            // Overlapping: copyMemory is a memmove.
            UnsafeMutableRawPointer(base + gap + size).copyMemory(from: base + bodyStart, byteCount: length)
            count -= Self.lengthGap - size
        }
    }

    /// Replaces everything from `offset` on with `bytes` (no longer than what it replaces).
    mutating func replaceTail(from offset: Int, with bytes: UnsafeRawBufferPointer) {
        precondition(offset + bytes.count <= count)
        if bytes.count > 0 { UnsafeMutableRawPointer(base + offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        count = offset + bytes.count
    }
}
