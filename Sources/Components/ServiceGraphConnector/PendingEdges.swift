/// The `servicegraph` connector's half-seen edges: one entry per trace id + client span id,
/// holding whichever side came first until the other comes or the entry expires.
///
/// Design: an open-addressing table (linear probing, power-of-two size, at most half full) of
/// keys beside the index of their entry, and the entries in a slab whose freed places are
/// reused. A lookup hashes the key once with a per-process random seed (trace ids come from
/// clients: a fixed hash would let one send colliding ids) and compares plain words; removal
/// shifts the following keys back (no tombstones). Entries never move, so only the small,
/// plain slots are copied when the table grows or shifts. It replaces a `Dictionary`, whose
/// `Hasher` and copies of entries holding strings cost more than the rest of the connector's
/// work per span. Not thread-safe: `EdgeGraph` is used under the connector's mutex.
struct PendingEdges {
    struct Slot {
        var key: EdgeGraph.EdgeKey
        /// Index in `entries` + 1; 0 is an empty slot.
        var entry: Int32
    }

    private var slots: [Slot]
    private var mask: Int
    private(set) var entries: [EdgeGraph.Pending?] = []
    private var free: [Int32] = []
    private(set) var count = 0

    private static let seed: UInt64 = UInt64.random(in: 1...UInt64.max)
    private static let empty = Slot(key: EdgeGraph.EdgeKey(high: 0, low: 0, span: 0), entry: 0)

    init() {
        slots = [Slot](repeating: Self.empty, count: 64)
        mask = 63
    }

    @inline(__always)
    private static func hash(_ key: EdgeGraph.EdgeKey) -> Int {
        var h = (key.high ^ seed) &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ key.low) &* 0xC2B2_AE3D_27D4_EB4F
        h ^= h >> 29
        h = (h ^ key.span) &* 0x1656_67B1_9E37_79F9
        h ^= h >> 33
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        return Int(truncatingIfNeeded: h)
    }

    /// The slot holding `key`, or the empty slot where it would go.
    @inline(__always)
    private func probe(_ key: EdgeGraph.EdgeKey) -> (slot: Int, found: Bool) {
        var i = Self.hash(key) & mask
        while true {
            let slot = slots[i]
            if slot.entry == 0 { return (i, false) }
            if slot.key == key { return (i, true) }
            i = (i &+ 1) & mask
        }
    }

    /// The entry index of `key`, if it waits.
    func find(_ key: EdgeGraph.EdgeKey) -> Int? {
        let (slot, found) = probe(key)
        return found ? Int(slots[slot].entry - 1) : nil
    }

    subscript(entry index: Int) -> EdgeGraph.Pending {
        get { entries[index]! }
        set { entries[index] = newValue }
    }

    /// Adds `pending` under `key` (which must not be waiting).
    mutating func insert(_ key: EdgeGraph.EdgeKey, _ pending: EdgeGraph.Pending) {
        if (count &+ 1) * 2 > slots.count { grow() }
        let index: Int
        if let reused = free.popLast() {
            index = Int(reused)
            entries[index] = pending
        } else {
            index = entries.count
            entries.append(pending)
        }
        slots[probe(key).slot] = Slot(key: key, entry: Int32(index + 1))
        count += 1
    }

    /// Removes `key` and its entry; the entry it held.
    @discardableResult
    mutating func remove(_ key: EdgeGraph.EdgeKey) -> EdgeGraph.Pending? {
        var (hole, found) = probe(key)
        guard found else { return nil }
        let index = Int(slots[hole].entry - 1)
        let pending = entries[index]
        entries[index] = nil
        free.append(Int32(index))
        count -= 1
        // Backward shift: move up each following key whose home is not between the hole and it.
        var i = (hole &+ 1) & mask
        while slots[i].entry != 0 {
            let home = Self.hash(slots[i].key) & mask
            let distanceToHome = (i &- home) & mask, distanceToHole = (i &- hole) & mask
            if distanceToHome >= distanceToHole {
                slots[hole] = slots[i]
                hole = i
            }
            i = (i &+ 1) & mask
        }
        slots[hole] = Self.empty
        if count == 0 {
            entries.removeAll(keepingCapacity: true)
            free.removeAll(keepingCapacity: true)
        }
        return pending
    }

    /// The keys whose entries expire at or before `now`.
    func expired(now: UInt64) -> [EdgeGraph.EdgeKey] {
        var out: [EdgeGraph.EdgeKey] = []
        for slot in slots where slot.entry != 0 && entries[Int(slot.entry - 1)]!.expires <= now { out.append(slot.key) }
        return out
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Self.empty, count: old.count * 2)
        mask = slots.count - 1
        for slot in old where slot.entry != 0 { slots[probe(slot.key).slot] = slot }
    }
}
