import OTLPCodec

/// A Bloom filter over trace ids, sized for about 1% false positives: 10 bits per id and
/// k = 7 hash functions give 0.8% (the optimum k for 10 bits per item is 6.9).
///
/// Bit positions are `(h1 + i * h2) mod m` for i in 0..<k (double hashing), with h1, h2 from
/// the id's two halves through the splitmix64 finalizer, so ids that are not random (tests,
/// sequential generators) still spread. The layout on disk is `m / 64` little-endian words,
/// bit `b` being bit `b % 64` of word `b / 64`. This definition is part of the index format.
struct BloomFilter {
    static let hashCount = 7
    static let bitsPerItem = 10

    private(set) var words: [UInt64]
    var bitCount: UInt64 { UInt64(words.count) * 64 }

    /// An empty filter for `capacity` ids (at least 64 bits).
    init(capacity: Int) {
        let bits = max(64, capacity * Self.bitsPerItem)
        words = [UInt64](repeating: 0, count: (bits + 63) / 64)
    }

    mutating func insert(_ id: OTLPTraceID) {
        let (h1, h2) = Self.hashes(id)
        let m = bitCount
        for i in 0..<UInt64(Self.hashCount) {
            let bit = (h1 &+ i &* h2) % m
            words[Int(bit / 64)] |= 1 << (bit % 64)
        }
    }

    func mightContain(_ id: OTLPTraceID) -> Bool {
        words.withUnsafeBytes { Self.mightContain(id, words: $0, bitCount: bitCount, hashCount: Self.hashCount) }
    }

    /// Checks a filter stored as little-endian words in `words` (an index file's section).
    static func mightContain(_ id: OTLPTraceID, words: UnsafeRawBufferPointer, bitCount m: UInt64, hashCount k: Int) -> Bool {
        guard m > 0, UInt64(words.count) * 8 >= m / 8 else { return true }
        let (h1, h2) = hashes(id)
        for i in 0..<UInt64(k) {
            let bit = (h1 &+ i &* h2) % m
            let word: UInt64 = words.le(Int(bit / 64) * 8)
            if word & (1 << (bit % 64)) == 0 { return false }
        }
        return true
    }

    static func hashes(_ id: OTLPTraceID) -> (UInt64, UInt64) {
        (mix(id.high ^ mix(id.low)), mix(id.low &+ 0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The splitmix64 finalizer.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
