import Synchronization

/// A small LRU of decompressed blocks, so that queries touching the same blocks (a trace
/// spread over a few batches, a search then a lookup) decompress them once.
///
/// Design: one Mutex around a dictionary with a use counter per entry; eviction scans for the
/// least recently used entry, which is cheap because the cache holds few, large entries
/// (blocks are up to `blockMaxBytes`). Thread-safe.
final class BlockCache: Sendable {
    struct Key: Hashable, Sendable {
        var sequence: UInt64
        var offset: UInt64
    }

    private struct Entry {
        var payload: [UInt8]
        var used: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var clock: UInt64 = 0
        var bytes = 0
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func get(_ key: Key) -> [UInt8]? {
        state.withLock { s in
            s.clock += 1
            guard s.entries[key] != nil else { return nil }
            s.entries[key]!.used = s.clock
            return s.entries[key]!.payload
        }
    }

    func put(_ key: Key, _ payload: [UInt8]) {
        guard payload.count <= capacity else { return }
        state.withLock { s in
            s.clock += 1
            if let old = s.entries.updateValue(Entry(payload: payload, used: s.clock), forKey: key) {
                s.bytes -= old.payload.count
            }
            s.bytes += payload.count
            while s.bytes > capacity, let victim = s.entries.min(by: { $0.value.used < $1.value.used }) {
                s.entries[victim.key] = nil
                s.bytes -= victim.value.payload.count
            }
        }
    }

    /// Drops the blocks of a deleted segment.
    func remove(sequence: UInt64) {
        state.withLock { s in
            for key in s.entries.keys where key.sequence == sequence {
                s.bytes -= s.entries.removeValue(forKey: key)!.payload.count
            }
        }
    }
}
