/// OTEP 235 consistent probability sampling: 56-bit thresholds and randomness, as the
/// OpenTelemetry specification and the OTel Collector's `pkg/sampling` define them.
///
/// An item is sampled when its randomness R >= the rejection threshold T (both in [0, 2^56)).
/// T = 0 samples everything; T = 2^56 ("never") nothing. The `th` value in tracestate is T in
/// up to 14 hex digits with trailing zeros removed ("0" for T = 0); `rv` is R in exactly 14.
public enum Sampling {
    public static let hexDigits = 14
    public static let maxAdjustedCount: UInt64 = 1 << 56
    /// The smallest probability a threshold can express: 2^-56.
    public static let minProbability = 1.0 / Double(maxAdjustedCount)
}

public struct SamplingThreshold: Sendable, Hashable, Comparable {
    public let unsigned: UInt64

    public static let always = SamplingThreshold(unchecked: 0)
    public static let never = SamplingThreshold(unchecked: Sampling.maxAdjustedCount)

    init(unchecked value: UInt64) { unsigned = value }

    /// A threshold below 2^56.
    public init?(unsigned value: UInt64) {
        guard value < Sampling.maxAdjustedCount else { return nil }
        unsigned = value
    }

    /// Parses a `th` value: 1 to 14 hex digits (lower or upper case), right-padded with zeros.
    public init?(tvalue: some StringProtocol) {
        let digits = Array(tvalue.utf8)
        guard (1...Sampling.hexDigits).contains(digits.count) else { return nil }
        var value: UInt64 = 0
        for d in digits {
            guard let v = hexValue(d) else { return nil }
            value = value << 4 | UInt64(v)
        }
        unsigned = value << (4 * UInt64(Sampling.hexDigits - digits.count))
    }

    /// The threshold for `probability` with `precision` hex digits, as the OTel Collector's
    /// `ProbabilityToThresholdWithPrecision`: more digits near 0 and 1 to keep the relative
    /// error small, rounded half up at the last digit. nil outside [2^-56, 1].
    public init?(probability: Double, precision: Int) {
        guard probability >= Sampling.minProbability, probability <= 1 else { return nil }
        if probability == 1 { self = .always; return }
        var digits = precision
        if precision != 0 {
            let expF = frexpExponent(probability)
            let expR = frexpExponent(1 - probability)
            digits = min(Sampling.hexDigits, max(precision + expF / -4, precision + expR / -4))
        } else {
            digits = Sampling.hexDigits
        }
        let scaled = UInt64((probability * Double(Sampling.maxAdjustedCount)).rounded(.toNearestOrAwayFromZero))
        var threshold = Sampling.maxAdjustedCount - scaled
        let shift = UInt64(4 * (Sampling.hexDigits - digits))
        if shift != 0 {
            threshold += 1 << (shift - 1)
            threshold >>= shift
            threshold <<= shift
        }
        unsigned = threshold
    }

    /// The `th` text: hex digits with trailing zeros removed, "0" for always; "" for never.
    public var tvalue: String {
        if self == .never { return "" }
        if unsigned == 0 { return "0" }
        var digits = Array(String(unsigned, radix: 16))
        digits.insert(contentsOf: repeatElement("0", count: Sampling.hexDigits - digits.count), at: 0)
        while digits.last == "0" { digits.removeLast() }
        return String(digits)
    }

    /// The sampling probability this threshold keeps.
    public var probability: Double {
        Double(Sampling.maxAdjustedCount - unsigned) / Double(Sampling.maxAdjustedCount)
    }

    public func shouldSample(_ randomness: SamplingRandomness) -> Bool {
        randomness.unsigned >= unsigned
    }

    public static func < (a: SamplingThreshold, b: SamplingThreshold) -> Bool { a.unsigned < b.unsigned }
}

public struct SamplingRandomness: Sendable, Hashable {
    public let unsigned: UInt64

    public init?(unsigned value: UInt64) {
        guard value < Sampling.maxAdjustedCount else { return nil }
        unsigned = value
    }

    /// Parses an `rv` value: exactly 14 hex digits.
    public init?(rvalue: some StringProtocol) {
        let digits = Array(rvalue.utf8)
        guard digits.count == Sampling.hexDigits else { return nil }
        var value: UInt64 = 0
        for d in digits {
            guard let v = hexValue(d) else { return nil }
            value = value << 4 | UInt64(v)
        }
        unsigned = value
    }

    /// The W3C randomness of a trace id: its last 7 bytes, big-endian.
    public init(traceIDLow7 bytes: some Collection<UInt8>) {
        var value: UInt64 = 0
        for b in bytes.suffix(7) { value = value << 8 | UInt64(b) }
        unsigned = value
    }

    /// The `rv` text: exactly 14 lower-case hex digits.
    public var rvalue: String {
        let digits = String(unsigned, radix: 16)
        return String(repeating: "0", count: Sampling.hexDigits - digits.count) + digits
    }
}

func hexValue(_ d: UInt8) -> UInt8? {
    switch d {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): d - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): d - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): d - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// The exponent of C's frexp (x = m * 2^e with m in [0.5, 1)); 0 for 0.
func frexpExponent(_ x: Double) -> Int {
    guard x != 0, x.isFinite else { return 0 }
    return Int(x.exponent) + 1
}

/// FNV-1a hashes (Go's hash/fnv), as the OTel Collector's samplers use them.
public enum FNV1a {
    public static let offset32: UInt32 = 2_166_136_261

    @inline(__always)
    public static func step32(_ h: UInt32, _ b: UInt8) -> UInt32 { (h ^ UInt32(b)) &* 16_777_619 }

    public static func hash32(_ parts: [UInt8]...) -> UInt32 {
        var h = offset32
        for part in parts {
            for b in part { h = step32(h, b) }
        }
        return h
    }

    public static func hash64(_ parts: [UInt8]...) -> UInt64 {
        var h: UInt64 = 14_695_981_039_346_656_037
        for part in parts {
            for b in part {
                h ^= UInt64(b)
                h = h &* 1_099_511_628_211
            }
        }
        return h
    }
}
