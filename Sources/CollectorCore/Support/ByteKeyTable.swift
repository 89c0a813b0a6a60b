#if canImport(Glibc)
import Glibc
#endif

/// A map from byte strings to dense indices `0..<count`, looked up with a borrowed buffer, so
/// a hot path that finds an existing key allocates nothing (a `Dictionary<[UInt8], Int>` needs
/// an array to look up with, and Swift's `Hasher` takes bytes slowly).
///
/// Design: the keys live one after another in one arena (`offsets` marks where each starts);
/// `slots` is an open-addressing table (linear probing, power-of-two size, at most half full)
/// of key indices, each beside the key's 64-bit hash, so a probe compares bytes only when the
/// hashes are equal. The hash is a multiply-and-rotate over 8-byte words with a per-process
/// random seed (keys come from clients: a fixed seed would let one choose colliding keys), then
/// murmur3's finalizer. Keys are never removed; callers that expire entries build a new table
/// from the ones they keep.
public struct ByteKeyTable: Sendable {
    private var arena: [UInt8] = []
    private var offsets: [Int] = [0]
    private var hashes: [UInt64] = []
    /// Key index + 1; 0 is empty.
    private var slots: [Int32]

    /// Random per process (see the design note).
    private static let seed: UInt64 = UInt64.random(in: 1...UInt64.max)

    public init(capacity: Int = 8) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: 0, count: size)
    }

    public var count: Int { hashes.count }

    /// The hash `index(of:hash:)` and `insert(_:hash:)` expect.
    @inline(__always)
    public static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        var h = seed ^ (UInt64(key.count) &* 0x9E37_79B9_7F4A_7C15)
        guard let base = key.baseAddress else { return finish(h) }
        var i = 0
        let n = key.count
        while i &+ 8 <= n {
            let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = ((h ^ word) &* 0x87C3_7B91_1142_53D5).rotatedLeft(31)
            i &+= 8
        }
        if i < n {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                tail |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << shift
                shift &+= 8
                i &+= 1
            }
            h = ((h ^ tail) &* 0x4CF5_AD43_2745_937F).rotatedLeft(27)
        }
        return finish(h)
    }

    @inline(__always)
    private static func finish(_ value: UInt64) -> UInt64 {
        var h = value
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h
    }

    /// The index of `key` (whose hash is `hash`), if present.
    @inline(__always)
    public func index(of key: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        let mask = slots.count &- 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        return slots.withUnsafeBufferPointer { slots in
            while true {
                let entry = Int(slots[slot])
                if entry == 0 { return nil }
                if hashes[entry &- 1] == hash && equal(entry &- 1, key) { return entry &- 1 }
                slot = (slot &+ 1) & mask
            }
        }
    }

    /// Adds `key` (not present; its hash is `hash`); returns its index.
    @discardableResult
    public mutating func insert(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int {
        let index = hashes.count
        arena.append(contentsOf: key)
        offsets.append(arena.count)
        hashes.append(hash)
        if hashes.count * 2 > slots.count {
            grow()
        } else {
            place(index, hash: hash)
        }
        return index
    }

    /// The index of `key`, added when absent.
    public mutating func findOrInsert(_ key: UnsafeRawBufferPointer) -> (index: Int, inserted: Bool) {
        let hash = Self.hash(key)
        if let index = index(of: key, hash: hash) { return (index, false) }
        return (insert(key, hash: hash), true)
    }

    /// Calls `body` with the bytes of key `index`.
    public func withKey<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try arena.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[offsets[index]..<offsets[index + 1]])) }
    }

    /// The bytes of key `index`, copied.
    public func key(_ index: Int) -> [UInt8] { Array(arena[offsets[index]..<offsets[index + 1]]) }

    @inline(__always)
    private func equal(_ index: Int, _ key: UnsafeRawBufferPointer) -> Bool {
        let start = offsets[index]
        let length = offsets[index &+ 1] &- start
        guard length == key.count else { return false }
        guard length > 0 else { return true }
        return arena.withUnsafeBytes { memcmp($0.baseAddress! + start, key.baseAddress!, length) == 0 }
    }

    private mutating func place(_ index: Int, hash: UInt64) {
        let mask = slots.count &- 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != 0 { slot = (slot &+ 1) & mask }
        slots[slot] = Int32(index &+ 1)
    }

    private mutating func grow() {
        slots = [Int32](repeating: 0, count: slots.count * 2)
        for (index, hash) in hashes.enumerated() { place(index, hash: hash) }
    }
}

extension UInt64 {
    @inline(__always)
    fileprivate func rotatedLeft(_ count: UInt64) -> UInt64 { (self << count) | (self >> (64 &- count)) }
}
