import OTLPCodec
#if canImport(Glibc)
import Glibc
#endif
import Patterns
import Sampling

/// The policies of one `tail_sampling` processor, compiled for incremental evaluation.
///
/// Design: most policies ask "does any span (or its resource) of the trace have X?". Each such
/// check is a *leaf* with one bit in the trace's `TraceSummary`, set as spans arrive
/// (`observe`), so a held trace costs a word of bits, its time window and its span count, not
/// its spans. Latency leaves latch their bit when the trace's running window (earliest start,
/// latest end, in arrival order) first satisfies them, as upstream's evaluation over the spans
/// in order does. At decision time (`decide`) the tree combines the bits with what needs no
/// spans: the trace id (probabilistic), the span count (span_count, rate_limiting, composite)
/// and the clock (rate_limiting's token buckets, composite's per-second budgets).
///
/// Not thread-safe: owned by one processor, which serializes its calls.
final class PolicyTree {
    enum Leaf {
        case numeric(key: [UInt8], min: Int64, max: Int64)
        /// `exactList`: the same values as `exact`, compared in place when there are few.
        case string(key: [UInt8], exact: Set<[UInt8]>, exactList: [[UInt8]], patterns: [Pattern])
        case boolean(key: [UInt8], value: Bool)
        case status(Set<Int>)
        case traceState(key: String, values: Set<String>)
        case latency(lowerMs: Int64, upperMs: Int64)

        /// Checked on resource attributes too (upstream's `hasResourceOrSpanWithCondition`).
        var readsResource: Bool {
            switch self {
            case .numeric, .string, .boolean: true
            default: false
            }
        }
    }

    indirect enum Node {
        case always
        case leaf(Int, invert: Bool)
        case probabilistic(salt: [UInt8], threshold: UInt64)
        case rateLimiting(Int)
        case spanCount(min: Int64, max: Int64)
        case and([Node])
        case drop([Node])
        case not(Node)
        case composite(Int, [Node])
    }

    struct Top {
        var name: String
        var node: Node
    }

    private(set) var leaves: [Leaf] = []
    /// Drop policies first, then the others, in config order (as upstream evaluates them).
    private(set) var policies: [Top] = []
    /// The attribute checks (numeric, string, boolean) with their keys, and their bits.
    private var attributeMask: UInt64 = 0
    /// The attribute checks' keys laid out for comparing in place: all keys in one buffer, and
    /// per check its bit index, offset and length there.
    private var leafKeyBytes: [UInt8] = []
    private var leafKeys: [(leaf: Int, offset: Int, count: Int)] = []
    /// The other span checks (status, trace_state, latency).
    private var spanLeaves: [Int] = []
    private var buckets: [TokenBucket] = []
    private var composites: [CompositeBudget] = []
    let sampleOnFirstMatch: Bool

    init(_ settings: TailSamplingSettings) throws {
        sampleOnFirstMatch = settings.sampleOnFirstMatch
        let ordered = settings.policies.filter { if case .drop = $0.kind { true } else { false } }
            + settings.policies.filter { if case .drop = $0.kind { false } else { true } }
        for p in ordered { policies.append(Top(name: p.name, node: try compile(p))) }
        for (i, leaf) in leaves.enumerated() {
            switch leaf {
            case .numeric(let key, _, _), .boolean(let key, _), .string(let key, _, _, _):
                attributeMask |= 1 << UInt64(i)
                leafKeys.append((i, leafKeyBytes.count, key.count))
                leafKeyBytes += key
            default:
                spanLeaves.append(i)
            }
        }
    }

    private func compile(_ p: PolicySettings) throws -> Node {
        func leaf(_ l: Leaf, invert: Bool = false) -> Node {
            leaves.append(l)
            return .leaf(leaves.count - 1, invert: invert)
        }
        switch p.kind {
        case .alwaysSample: return .always
        case .latency(let lower, let upper): return leaf(.latency(lowerMs: lower, upperMs: upper))
        case .numericAttribute(let key, let min, let max, let invert):
            return leaf(.numeric(key: Array(key.utf8), min: min, max: max), invert: invert)
        case .probabilistic(let salt, let pct):
            return .probabilistic(salt: Array(salt.utf8), threshold: Self.probabilisticThreshold(pct / 100))
        case .statusCode(let codes): return leaf(.status(Set(codes)))
        case .stringAttribute(let key, let values, let regex, let invert):
            let patterns = regex ? try values.map { try Pattern($0) } : []
            let exact = regex ? [] : Set(values.filter { !$0.isEmpty }.map { Array($0.utf8) })
            return leaf(.string(key: Array(key.utf8), exact: exact, exactList: Array(exact), patterns: patterns), invert: invert)
        case .booleanAttribute(let key, let value, let invert):
            return leaf(.boolean(key: Array(key.utf8), value: value), invert: invert)
        case .rateLimiting(let sps, let burst):
            buckets.append(TokenBucket(rate: Double(sps), burst: Double(burst)))
            return .rateLimiting(buckets.count - 1)
        case .spanCount(let min, let max): return .spanCount(min: min, max: max)
        case .traceState(let key, let values): return leaf(.traceState(key: key, values: Set(values)))
        case .and(let subs): return .and(try subs.map(compile))
        case .drop(let subs): return .drop(try subs.map(compile))
        case .not(let sub): return .not(try compile(sub))
        case .composite(let max, let subs, let allocation):
            let share = subs.isEmpty ? 0 : Double(max) / Double(subs.count)
            let allocated = subs.map { sub -> Int64 in
                if let pct = allocation[sub.name], pct > 0 { return Int64(Double(pct) / 100 * Double(max)) }
                return Int64(share)
            }
            composites.append(CompositeBudget(maxTotal: max, allocated: allocated))
            return .composite(composites.count - 1, try subs.map(compile))
        }
    }

    /// Leaves that are checks (bits), for the 64-bit summary.
    static func leafCount(_ policies: [PolicySettings]) -> Int {
        policies.reduce(0) { total, p in
            switch p.kind {
            case .latency, .numericAttribute, .statusCode, .stringAttribute, .booleanAttribute, .traceState: total + 1
            case .and(let subs), .drop(let subs): total + leafCount(subs)
            case .not(let sub): total + leafCount([sub])
            case .composite(_, let subs, _): total + leafCount(subs)
            default: total
            }
        }
    }

    // MARK: Observing spans

    /// The bits of the resource-level checks for the resource whose attributes are `attributes`.
    func resourceBits(_ raw: UnsafeRawBufferPointer, _ attributes: [Range<Int>]) -> UInt64 {
        attributeBits(raw, attributes, resource: true, known: 0)
    }

    /// Adds one span to `summary`: its checks' bits, the time window, the count.
    func observe(_ span: OTLPSpanFields, _ raw: UnsafeRawBufferPointer, resourceBits: UInt64, into summary: inout TraceSummary) {
        summary.spanCount += 1
        summary.bits |= resourceBits
        if span.startTimeUnixNano != 0, summary.minStart == 0 || span.startTimeUnixNano < summary.minStart {
            summary.minStart = span.startTimeUnixNano
        }
        if span.endTimeUnixNano != 0, summary.maxEnd == 0 || span.endTimeUnixNano > summary.maxEnd {
            summary.maxEnd = span.endTimeUnixNano
        }
        if attributeMask & ~summary.bits != 0, !span.attributes.isEmpty {
            summary.bits |= attributeBits(raw, span.attributes, resource: false, known: summary.bits)
        }
        for i in spanLeaves where summary.bits & (1 << UInt64(i)) == 0 {
            let hit: Bool
            switch leaves[i] {
            case .status(let codes): hit = codes.contains(span.statusCode)
            case .traceState(let key, let values):
                hit = !span.traceState.isEmpty && W3CTraceState.members(OTLPAttributes.string(raw, span.traceState))?
                    .first(where: { $0.key == key }).map { values.contains($0.value) } == true
            case .latency(let lower, let upper):
                let ms = (Int64(bitPattern: summary.maxEnd) &- Int64(bitPattern: summary.minStart)) / 1_000_000
                hit = upper == 0 ? ms >= lower : (lower < ms && ms <= upper)
            default: hit = false
            }
            if hit { summary.bits |= 1 << UInt64(i) }
        }
    }

    /// The attribute checks' bits for one attribute list, in one pass over it: each check looks
    /// at the first attribute with its key (pdata's `Get`); checks in `known` are skipped.
    /// Upstream's reads: `Int()` is 0 and `Bool()` false for other types; `Str()` is "" for
    /// non-strings, matched as such on resources and skipped on spans.
    private func attributeBits(_ raw: UnsafeRawBufferPointer, _ attributes: [Range<Int>], resource: Bool, known: UInt64) -> UInt64 {
        var bits: UInt64 = 0
        var settled = known & attributeMask
        guard settled != attributeMask, let base = raw.baseAddress else { return 0 }
        leafKeyBytes.withUnsafeBytes { keys in
            leafKeys.withUnsafeBufferPointer { leafKeys in
                for kv in attributes {
                    guard settled != attributeMask else { break }
                    // Keys first; a value is decoded only for a key some check reads.
                    let key = OTLPAttributes.key(raw, kv)
                    var value: OTLPValue?
                    for leafKey in leafKeys {
                        let bit: UInt64 = 1 << UInt64(leafKey.leaf)
                        guard settled & bit == 0, key.count == leafKey.count,
                              key.isEmpty || memcmp(base + key.lowerBound, keys.baseAddress! + leafKey.offset, key.count) == 0 else { continue }
                        settled |= bit
                        if value == nil { value = OTLPAttributes.read(raw, kv).value }
                        if matches(leaves[leafKey.leaf], raw, value!, resource: resource) { bits |= bit }
                    }
                }
            }
        }
        return bits
    }

    private func matches(_ leaf: Leaf, _ raw: UnsafeRawBufferPointer, _ v: OTLPValue, resource: Bool) -> Bool {
        switch leaf {
        case .numeric(_, let min, let max):
            let n: Int64 = if case .int(let i) = v { i } else { 0 }
            return n >= min && n <= max
        case .boolean(_, let value):
            let b: Bool = if case .bool(let x) = v { x } else { false }
            return b == value
        case .string(_, let exact, let exactList, let patterns):
            let text: UnsafeRawBufferPointer
            if case .string(let r) = v {
                text = UnsafeRawBufferPointer(rebasing: raw[r])
            } else {
                text = UnsafeRawBufferPointer(start: nil, count: 0)
            }
            if !resource && text.isEmpty { return false }
            if patterns.isEmpty {
                // A few values: compared in place rather than hashed from a copy.
                if exactList.count <= 8 { return exactList.contains { $0.count == text.count && $0.elementsEqual(text) } }
                return exact.contains(Array(text))
            }
            return patterns.contains { $0.matches(text) }
        default:
            return false
        }
    }

    // MARK: Deciding

    /// The final decision for a trace and every top-level policy's own (for the metrics), as
    /// upstream's `makeDecision`: evaluation stops at a drop, and at the first sample under
    /// `sample_on_first_match`.
    func decide(_ summary: TraceSummary, traceID: OTLPTraceID, now: UInt64) -> (final: Decision, policies: [(Int, Decision)]) {
        var each: [(Int, Decision)] = []
        each.reserveCapacity(policies.count)
        for (i, p) in policies.enumerated() {
            let d = evaluate(p.node, summary, traceID, now)
            each.append((i, d))
            if d == .dropped { break }
            if sampleOnFirstMatch && d == .sampled { break }
        }
        return (Decision.combine(each.map(\.1)), each)
    }

    private func evaluate(_ node: Node, _ s: TraceSummary, _ id: OTLPTraceID, _ now: UInt64) -> Decision {
        switch node {
        case .always: return .sampled
        case .leaf(let i, let invert):
            let hit = s.bits & (1 << UInt64(i)) != 0
            return invert ? (hit ? .invertNotSampled : .invertSampled) : (hit ? .sampled : .notSampled)
        case .probabilistic(let salt, let threshold):
            return FNV1a.hash64(salt, id.bytes) <= threshold ? .sampled : .notSampled
        case .rateLimiting(let i):
            return buckets[i].allow(Double(s.spanCount), now: now) ? .sampled : .notSampled
        case .spanCount(let min, let max):
            let n = Int64(s.spanCount)
            return (max == 0 ? n >= min : (n >= min && n <= max)) ? .sampled : .notSampled
        case .and(let subs), .drop(let subs):
            for sub in subs {
                let d = evaluate(sub, s, id, now)
                if d == .notSampled || d == .invertNotSampled { return .notSampled }
            }
            if case .drop = node { return .dropped }
            return .sampled
        case .not(let sub):
            switch evaluate(sub, s, id, now) {
            case .sampled: return .notSampled
            case .notSampled: return .sampled
            case let other: return other
            }
        case .composite(let i, let subs):
            composites[i].advance(toSecond: now / 1_000_000_000)
            for (k, sub) in subs.enumerated() {
                let d = evaluate(sub, s, id, now)
                guard d == .sampled || d == .invertSampled else { continue }
                return composites[i].take(Int64(s.spanCount), for: k) ? .sampled : .notSampled
            }
            return .notSampled
        }
    }

    /// Upstream's `calculateThreshold`: MaxUint64 times `ratio` in 64-bit big-float precision
    /// (rounded to nearest even), truncated to an integer, clamped to [0, MaxUint64].
    static func probabilisticThreshold(_ ratio: Double) -> UInt64 {
        guard ratio > 0, ratio.isFinite else { return 0 }
        let significand = UInt128(ratio.significandBitPattern | (ratio.isNormal ? 1 << 52 : 0))
        var exponent = Int(ratio.exponentBitPattern == 0 ? -1074 : Int(ratio.exponentBitPattern) - 1075)
        var product = UInt128(UInt64.max) * significand
        // Round to 64 significant bits, ties to even.
        let bits = 128 - product.leadingZeroBitCount
        if bits > 64 {
            let shift = bits - 64
            var q = product >> UInt128(shift)
            let rem = product & ((UInt128(1) << UInt128(shift)) - 1)
            let half = UInt128(1) << UInt128(shift - 1)
            if rem > half || (rem == half && q & 1 == 1) { q += 1 }
            product = q << UInt128(shift)
        }
        if exponent >= 0 {
            guard product.leadingZeroBitCount > exponent, (product << UInt128(exponent)) < UInt128(UInt64.max) else { return .max }
            return UInt64(product << UInt128(exponent))
        }
        exponent = -exponent
        guard exponent < 128 else { return 0 }
        let value = product >> UInt128(exponent)
        return value >= UInt128(UInt64.max) ? .max : UInt64(value)
    }
}

/// What a held trace costs in memory besides its spans' bytes: the bits of the checks some span
/// (or resource) passed, the running time window and the span count.
struct TraceSummary: Sendable, Equatable {
    var bits: UInt64 = 0
    var minStart: UInt64 = 0
    var maxEnd: UInt64 = 0
    var spanCount = 0
}

/// `golang.org/x/time/rate` as `rate_limiting` uses it: starts full, refills at `rate` tokens
/// per second up to `burst`; `allow` takes `n` tokens or none.
struct TokenBucket {
    let rate: Double
    let burst: Double
    var tokens: Double
    var last: UInt64?

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
        self.tokens = burst
    }

    /// As `AllowN`: the refill is committed only with a grant (a refusal changes nothing).
    mutating func allow(_ n: Double, now: UInt64) -> Bool {
        var available = tokens
        if let last, now > last { available = min(burst, available + Double(now - last) / 1e9 * rate) }
        guard n <= burst, available >= n else { return false }
        tokens = available - n
        last = max(now, last ?? now)
        return true
    }
}

/// A composite policy's per-second span budgets per sub-policy.
struct CompositeBudget {
    let maxTotal: Int64
    let allocated: [Int64]
    var spent: [Int64]
    var second: UInt64 = .max

    init(maxTotal: Int64, allocated: [Int64]) {
        self.maxTotal = maxTotal
        self.allocated = allocated
        self.spent = Array(repeating: 0, count: allocated.count)
    }

    mutating func advance(toSecond s: UInt64) {
        if s != second {
            second = s
            for i in spent.indices { spent[i] = 0 }
        }
    }

    mutating func take(_ spans: Int64, for k: Int) -> Bool {
        let n = spent[k] + spans
        guard n <= allocated[k], n <= maxTotal else { return false }
        spent[k] = n
        return true
    }
}
