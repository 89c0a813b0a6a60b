import OTLPCodec
import Testing
@testable import TailSampling

/// The held-trace table against a Dictionary model, through growth and heavy churn.
@Suite struct TraceTableTests {
    /// A deterministic generator (SplitMix64), so a failure repeats.
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func behavesAsADictionaryUnderChurn() {
        var rng = SplitMix(state: 42)
        var table = TraceTable<Int>()
        var model: [OTLPTraceID: Int] = [:]
        // Ids from a small space so that removals and re-insertions hit existing keys, and
        // many share their low half (a client's ids need not be random).
        func randomID() -> OTLPTraceID { OTLPTraceID(high: rng.next() % 5000, low: rng.next() % 3) }
        for step in 0..<200_000 {
            let id = randomID()
            switch rng.next() % 3 {
            case 0, 1:
                table[id] = step
                model[id] = step
            default:
                #expect(table.removeValue(forKey: id) == model.removeValue(forKey: id))
            }
            if step % 10_000 == 0 {
                #expect(table.count == model.count)
                for (k, v) in model { #expect(table[k] == v) }
            }
        }
        #expect(table.count == model.count)
        for (k, v) in model {
            #expect(table[k] == v)
            #expect(table.contains(k))
            #expect(table.ids[table.position(of: k)!] == k)
        }
        #expect(Set(table.ids) == Set(model.keys))
        for k in model.keys { #expect(table.removeValue(forKey: k) == model[k]) }
        #expect(table.isEmpty)
        #expect(table[OTLPTraceID(high: 1, low: 1)] == nil)
    }

    @Test func valuesAreModifiedInPlace() {
        var table = TraceTable<[Int]>()
        let a = OTLPTraceID(high: 1, low: 2), b = OTLPTraceID(high: 3, low: 4)
        let pa = table.insert(a, [1])
        table.insert(b, [2])
        table[position: pa].append(5)
        #expect(table[a] == [1, 5])
        table.removeValue(forKey: a)
        // b moved into a's place; its position is found again.
        #expect(table.position(of: b) == 0)
        #expect(table[b] == [2])
    }

    @Test func holdsManyTracesCompactly() {
        var table = TraceTable<UInt64>(minimumCapacity: 200_000)
        for i in 0..<200_000 { table.insert(OTLPTraceID(high: UInt64(i) &* 0x9E37_79B9, low: UInt64(i)), UInt64(i)) }
        #expect(table.count == 200_000)
        // 16-byte ids, 8-byte values, and 4 bytes per slot at a load of at most one half.
        #expect(table.footprint <= 200_000 * (16 + 8) * 2 + 524_288 * 4)
        #expect(table[OTLPTraceID(high: 77 &* 0x9E37_79B9, low: 77)] == 77)
    }
}

/// What one held trace costs in the table: its entry is at most 80 bytes (arrival, summary,
/// and where its spans are), whichever hold it uses; with its id and index slot, about 100.
@Suite struct HeldTraceSizeTests {
    @Test func aHeldTraceIsSmall() {
        #expect(MemoryLayout<TailSampler.Held>.stride <= 80)
        #expect(MemoryLayout<OTLPTraceID>.stride == 16)
    }
}
