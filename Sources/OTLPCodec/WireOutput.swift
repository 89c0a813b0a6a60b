/// A growable byte buffer for writing protobuf, with the few operations a one-pass encoder
/// needs beyond appending: a gap reserved for a length that is known only later, and moving a
/// written body when that length turns out to need another number of bytes than the gap.
///
/// It writes into memory it is lent (usually the final array's, so the result needs no copy)
/// until that is full, then into memory of its own, which `release()` frees: the owner calls it
/// exactly once. (A plain pointer, so that appending costs no uniqueness check.)
struct WireOutput {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int
    /// Whether `base` is this value's own allocation (else it is the lent buffer).
    private(set) var owned: Bool

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
        owned = true
    }

    /// Writes into `buffer` (not freed here) while it has room.
    init(lent buffer: UnsafeMutableBufferPointer<UInt8>) {
        precondition(buffer.count > 0)
        base = buffer.baseAddress!
        capacity = buffer.count
        owned = false
    }

    func release() {
        if owned { base.deallocate() }
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
        if owned { base.deallocate() }
        base = grown
        owned = true
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
        count = writeVarint(value, at: count)
    }

    /// Writes `value` as a varint at `offset` (room for it is there); returns the end.
    @inline(__always)
    private func writeVarint(_ value: UInt64, at offset: Int) -> Int {
        var v = value
        var p = offset
        while v >= 0x80 {
            base[p] = UInt8(truncatingIfNeeded: v) | 0x80
            p += 1
            v >>= 7
        }
        base[p] = UInt8(v)
        return p + 1
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

    /// Reserves `size` bytes (1...5) for a length prefix; returns its offset for `closeLength`.
    mutating func openLength(size: Int) -> Int {
        appendUninitialized(size)
    }

    /// Writes the length of everything after the gap of `reserved` bytes at `gap`, in its
    /// shortest varint form, moving those bytes up or down when that form is not `reserved`
    /// bytes long. Returns the size used.
    @discardableResult
    mutating func closeLength(gap: Int, reserved: Int) -> Int {
        let bodyStart = gap + reserved
        let length = count - bodyStart
        let size = ProtobufVarint.size(UInt64(length))
        if size != reserved {
            if size > reserved { reserve(size - reserved) }
            // Overlapping: copyMemory is a memmove.
            UnsafeMutableRawPointer(base + gap + size).copyMemory(from: base + bodyStart, byteCount: length)
            count += size - reserved
        }
        _ = writeVarint(UInt64(length), at: gap)
        return size
    }

    /// Replaces everything from `offset` on with `bytes` (no longer than what it replaces).
    mutating func replaceTail(from offset: Int, with bytes: UnsafeRawBufferPointer) {
        precondition(offset + bytes.count <= count)
        if bytes.count > 0 { UnsafeMutableRawPointer(base + offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        count = offset + bytes.count
    }
}
