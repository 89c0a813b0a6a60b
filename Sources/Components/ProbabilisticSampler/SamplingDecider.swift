import Sampling

/// The decision every mode shares, as the OTel Collector's `commonShouldSampleLogic`: find the
/// item's randomness and its arriving threshold (the carrier), check they are consistent, let
/// the mode pick a threshold, let `sampling.priority` override it, sample when randomness >=
/// threshold, and on a sampled item write the threshold back (never raising the probability).
///
/// Errors (unparsable tracestate or sampling attributes, randomness already set in hash_seed
/// mode, missing randomness, an arriving threshold the randomness contradicts) drop the item
/// under `fail_closed`, and keep it otherwise.
struct SamplingDecider: Sendable {
    enum Kind: Sendable {
        case never
        /// hash_seed: FNV-1a-32 randomness with a fixed 14-bit threshold.
        case hashing(seed: UInt32, threshold: SamplingThreshold)
        case equalizing(SamplingThreshold)
        case proportional(ratio: Double, precision: Int)
    }

    /// Randomness with the name upstream reports it by (the `policy` label).
    struct NamedRandomness {
        var name: String
        var value: SamplingRandomness
        static let missing = NamedRandomness(name: "missing_randomness", value: .allProbabilities)
        var isMissing: Bool { name == "missing_randomness" }
    }

    let kind: Kind
    let failClosed: Bool

    /// 14-bit hash buckets of the hash_seed mode.
    static let hashBuckets: UInt32 = 0x4000

    /// `makeSampler`: percentages over 100 are 100, 0 never samples, tiny ratios are raised to
    /// 2^-56; hash_seed scales in float32 and truncates (kept for compatibility upstream).
    init(_ s: ProbabilisticSamplerSettings) {
        failClosed = s.failClosed
        let pct = min(s.samplingPercentage, 100)
        guard pct > 0 else { kind = .never; return }
        let ratio = max(Double(pct) / 100, Sampling.minProbability)
        switch s.effectiveMode {
        case .equalizing:
            kind = .equalizing(SamplingThreshold(probability: ratio, precision: s.samplingPrecision) ?? .never)
        case .proportional:
            kind = .proportional(ratio: ratio, precision: s.samplingPrecision)
        case .hashSeed:
            let scaled = UInt32(pct * (Float(Self.hashBuckets) / 100))
            guard scaled > 0 else { kind = .never; return }
            let reject = UInt64(Self.hashBuckets - min(scaled, Self.hashBuckets)) << 42
            kind = .hashing(seed: s.hashSeed, threshold: SamplingThreshold(unsigned: reject) ?? .never)
        }
    }

    /// `randomnessFromBytes`: the 14-bit FNV-1a-32 hash of seed and bytes, spread over 56 bits
    /// so that `R >= T` decides as the original `hash < scaledRate` did.
    static func hashedRandomness(_ bytes: [UInt8], seed: UInt32) -> SamplingRandomness {
        bytes.withUnsafeBytes { hashedRandomness($0, seed: seed) }
    }

    /// Same, over borrowed bytes (a span's trace id in place).
    static func hashedRandomness(_ bytes: UnsafeRawBufferPointer, seed: UInt32) -> SamplingRandomness {
        var h = FNV1a.offset32
        withUnsafeBytes(of: seed.littleEndian) { for b in $0 { h = FNV1a.step32(h, b) } }
        for b in bytes { h = FNV1a.step32(h, b) }
        let hashed32 = h
        let hashed = UInt64(hashed32 & (hashBuckets - 1))
        let rprime14 = UInt64(hashBuckets) - 1 - hashed
        // Upstream's "unused 18 bits" are `hashed32 >> (32 - 14)`: kept exactly as it computes them.
        let unused18 = UInt64(hashed32 >> 18)
        let mixed28 = unused18 ^ (unused18 << 10)
        return SamplingRandomness(unsigned: (rprime14 << 42) | (mixed28 << 14) | hashed)!
    }

    /// The mode's threshold for an item whose carrier is consistent.
    func threshold(arriving: SamplingThreshold?) -> SamplingThreshold {
        switch kind {
        case .never: return .never
        case .hashing(_, let t): return t
        case .equalizing(let t):
            if let arriving, t < arriving { return arriving }
            return t
        case .proportional(let ratio, let precision):
            let incoming = arriving?.probability ?? 1
            return SamplingThreshold(probability: incoming * ratio, precision: precision) ?? .never
        }
    }

    /// Decides one item. `carrier` is nil when its sampling information could not be used
    /// (`failed` says whether that is an error); it is updated in place when the item is sampled.
    /// `priority` may override the threshold (and renames the policy to sampling_priority).
    func decide<C: SamplingCarrier>(randomness: NamedRandomness, carrier: inout C?, failed: Bool,
                                    priority: SamplingThreshold?) -> (sampled: Bool, policy: String, changed: Bool) {
        var error = failed
        if !error {
            if randomness.isMissing {
                error = true
            } else if carrier != nil, let arriving = carrier!.threshold, !arriving.shouldSample(randomness.value) {
                // The arriving threshold is a lie: cleared, as the specification recommends.
                carrier!.clearThreshold()
                error = true
            }
        }
        var threshold = error ? (failClosed ? .never : .always) : self.threshold(arriving: carrier?.threshold)
        var policy = randomness.name
        if let priority {
            threshold = priority
            policy = "sampling_priority"
        }
        let sampled = threshold.shouldSample(randomness.value)
        var changed = false
        if sampled, carrier != nil {
            carrier!.updateThreshold(threshold)
            changed = true
        }
        return (sampled, policy, changed)
    }
}

/// Where an item's sampling information lives: the span's tracestate, or a log record's
/// `sampling.threshold` / `sampling.randomness` attributes.
protocol SamplingCarrier {
    var threshold: SamplingThreshold? { get }
    mutating func clearThreshold()
    @discardableResult mutating func updateThreshold(_ threshold: SamplingThreshold) -> Bool
}

extension W3CTraceState: SamplingCarrier {}

extension SamplingRandomness {
    /// What a missing randomness is taken as (never used to sample by itself).
    static let allProbabilities = SamplingRandomness(unsigned: Sampling.maxAdjustedCount - 1)!
}
