/// What was decided for recent traces, so late spans follow their trace's decision.
///
/// With `decision_cache` sizes, two bounded sets (sampled, not sampled) as upstream's caches
/// (oldest entries leave first). Without them, upstream keeps decided traces in its trace map
/// until `num_traces` evicts them; here the last `fallback` decisions are kept instead.
final class DecisionCache {
    struct Entry {
        var sampled: Bool
        /// When it was decided (for the late-span age).
        var at: UInt64
    }

    private var sampled: BoundedSet
    private var notSampled: BoundedSet
    private let shared: Bool

    init(sampled: Int, notSampled: Int, fallback: Int) {
        shared = sampled == 0 && notSampled == 0
        self.sampled = BoundedSet(capacity: shared ? fallback : sampled)
        self.notSampled = BoundedSet(capacity: shared ? 0 : notSampled)
    }

    func record(_ id: OTLPTraceID, sampled isSampled: Bool, at: UInt64) {
        if shared || isSampled {
            sampled.insert(id, Entry(sampled: isSampled, at: at))
        } else {
            notSampled.insert(id, Entry(sampled: false, at: at))
        }
    }

    func lookup(_ id: OTLPTraceID) -> Entry? {
        sampled.get(id) ?? notSampled.get(id)
    }
}

import OTLPCodec

/// A map of at most `capacity` entries; inserting past it removes the oldest.
struct BoundedSet {
    let capacity: Int
    private var entries: [OTLPTraceID: DecisionCache.Entry] = [:]
    private var ring: [OTLPTraceID] = []
    private var next = 0

    init(capacity: Int) { self.capacity = capacity }

    mutating func insert(_ id: OTLPTraceID, _ entry: DecisionCache.Entry) {
        guard capacity > 0 else { return }
        if entries.updateValue(entry, forKey: id) != nil { return }
        if ring.count < capacity {
            ring.append(id)
        } else {
            entries[ring[next]] = nil
            ring[next] = id
            next = (next + 1) % capacity
        }
    }

    func get(_ id: OTLPTraceID) -> DecisionCache.Entry? { entries[id] }
}
