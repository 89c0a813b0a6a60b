import OTLPCodec

/// A map from trace id to a value, for the traces a tail sampler holds (hundreds of thousands)
/// and the traces of one batch.
///
/// Design: ids and values are stored densely in two arrays (no per-entry optional, no slack
/// beyond the arrays' growth); an index of `Int32` positions, open addressing with linear
/// probing at a load of at most one half, finds them. A removal moves the last entry into the
/// freed position (so the arrays stay dense) and repairs the probe sequence by backward shift
/// (no tombstones, so lookups never slow down with churn). The hash mixes both halves of the id
/// with a per-table random seed: trace ids come from clients, and a fixed hash would let one
/// client send ids that all probe the same run.
///
/// Not thread-safe (owned by one processor). Positions (`position(of:)`) are valid until the
/// next removal.
struct TraceTable<Value> {
    private(set) var ids: [OTLPTraceID] = []
    private(set) var values: [Value] = []
    /// Positions in `ids` / `values`, -1 for an empty slot; the count is a power of two.
    private var index: [Int32]
    private var mask: Int
    private let seed: UInt64

    /// `seed` mixes the hash; a random one unless given (a short-lived table can take one
    /// from a long-lived random source rather than ask the system each time).
    init(minimumCapacity: Int = 16, seed: UInt64 = UInt64.random(in: .min ... .max)) {
        var slots = 16
        while slots < minimumCapacity * 2 { slots <<= 1 }
        index = [Int32](repeating: -1, count: slots)
        mask = slots - 1
        self.seed = seed
    }

    var count: Int { ids.count }
    var isEmpty: Bool { ids.isEmpty }

    @inline(__always)
    private func home(_ id: OTLPTraceID) -> Int {
        var h = (id.high ^ seed) &* 0x9E37_79B9_7F4A_7C15
        h ^= (id.low &+ seed) &* 0xC2B2_AE3D_27D4_EB4F
        h ^= h >> 31
        return Int(truncatingIfNeeded: h) & mask
    }

    /// The slot holding `id`, or the empty slot where it would go.
    @inline(__always)
    private func slot(of id: OTLPTraceID) -> (slot: Int, found: Bool) {
        var s = home(id)
        while true {
            let p = index[s]
            if p < 0 { return (s, false) }
            if ids[Int(p)] == id { return (s, true) }
            s = (s + 1) & mask
        }
    }

    func contains(_ id: OTLPTraceID) -> Bool { slot(of: id).found }

    /// Where `id`'s entry is in `ids` / `values`.
    func position(of id: OTLPTraceID) -> Int? {
        let (s, found) = slot(of: id)
        return found ? Int(index[s]) : nil
    }

    subscript(id: OTLPTraceID) -> Value? {
        get { position(of: id).map { values[$0] } }
        set {
            if let newValue { insert(id, newValue) } else { _ = removeValue(forKey: id) }
        }
    }

    /// The value at a position, in place.
    subscript(position p: Int) -> Value {
        get { values[p] }
        _modify { yield &values[p] }
    }

    /// Sets `id`'s value (adding the entry if new); returns its position.
    @discardableResult
    mutating func insert(_ id: OTLPTraceID, _ value: Value) -> Int {
        var (s, found) = slot(of: id)
        if found {
            values[Int(index[s])] = value
            return Int(index[s])
        }
        if (ids.count + 1) * 2 > index.count {
            grow()
            s = slot(of: id).slot
        }
        index[s] = Int32(ids.count)
        ids.append(id)
        values.append(value)
        return ids.count - 1
    }

    @discardableResult
    mutating func removeValue(forKey id: OTLPTraceID) -> Value? {
        let (s, found) = slot(of: id)
        guard found else { return nil }
        let p = Int(index[s])
        removeSlot(s)
        // Keep the arrays dense: the last entry moves into the freed position.
        let last = ids.count - 1
        if p != last {
            let moved = ids[last]
            index[slot(of: moved).slot] = Int32(p)
            ids.swapAt(p, last)
            values.swapAt(p, last)
        }
        ids.removeLast()
        return values.removeLast()
    }

    mutating func removeAll() {
        ids = []
        values = []
        index = [Int32](repeating: -1, count: 16)
        mask = 15
    }

    /// Empties slot `s` and shifts back the entries after it that probed past it.
    private mutating func removeSlot(_ s: Int) {
        var hole = s
        var j = s
        while true {
            j = (j + 1) & mask
            let p = index[j]
            if p < 0 { break }
            let k = home(ids[Int(p)])
            // The entry at j may move to the hole unless its home lies cyclically in (hole, j].
            let stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j)
            if !stays {
                index[hole] = p
                hole = j
            }
        }
        index[hole] = -1
    }

    private mutating func grow() {
        let slots = index.count * 2
        index = [Int32](repeating: -1, count: slots)
        mask = slots - 1
        for (p, id) in ids.enumerated() {
            var s = home(id)
            while index[s] >= 0 { s = (s + 1) & mask }
            index[s] = Int32(p)
        }
    }

    /// Bytes of memory the table itself takes (its arrays' capacities), for tests and metrics.
    var footprint: Int {
        ids.capacity * MemoryLayout<OTLPTraceID>.stride + values.capacity * MemoryLayout<Value>.stride
            + index.capacity * MemoryLayout<Int32>.stride
    }
}
