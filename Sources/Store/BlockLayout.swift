import OTLPCodec

/// How an appended request is laid out in blocks.
///
/// Most traces live in one or two blocks, and a block is best large (zstd compresses a whole
/// batch far better than small pieces of it, and writing it costs least): the items of an
/// ordinary append stay as they came, in one block (several if it passes
/// `StoreConfig.blockMaxBytes`, cut at item boundaries).
///
/// A trace that keeps coming back (its spans in batch after batch: a long-running trace, or an
/// id reused on purpose) would make a lookup decompress every one of those batches. So the
/// items of *hot* traces (the store decides which: already in two blocks of the active
/// segment, or lately hot) go into a block of their own, laid out by trace: each trace's items
/// as one run of resource entries holding only that trace. The index names each trace's slice
/// of that block; a lookup then reads small blocks and walks only its slices (a trace found in
/// 2,000 batches comes back in milliseconds instead of seconds).
/// The blocks are written into buffers from `take` (the store's spares, so that a rewrite
/// writes into pages already faulted in), and their facts (the index's input) are derived
/// from the payload's scan and what the writer reports, not by scanning each block again.
enum BlockLayout {
    struct Block {
        var bytes: [UInt8]
        var facts: BlockFacts
        var count: Int { facts.itemCount }
    }

    /// The blocks for `payload` (a serialized request of `kind`, whose scan is `facts`): the
    /// items of traces that are not hot, as they came (in pieces of at most `maxBytes`), then
    /// those of hot traces, grouped by trace; nil when the payload is one block as it is
    /// (nothing hot, and it fits). `take(n)` gives an empty buffer of about n bytes.
    static func cut(_ kind: BlockKind, _ payload: [UInt8], facts: BlockFacts, maxBytes: Int,
                    take: (Int) -> [UInt8] = { _ in [] },
                    isHot: (OTLPTraceID) -> Bool) throws(OTLPDecodeError) -> [Block]? {
        let ids = facts.traceIDs
        let traces = TraceNumbers(ids)
        let hotTrace = traces.ids.map(isHot)
        let anyHot = hotTrace.contains(true)
        let hot = traces.numbers.map { $0 >= 0 && hotTrace[$0] }
        guard anyHot || (payload.count > maxBytes && ids.count > 1) else { return nil }
        return try payload.withBytes { (raw) throws(OTLPDecodeError) -> [Block]? in
            let layout = try OTLPRequestLayout(kind == .spans ? .traces : .logs, raw, expectedItems: ids.count)
            // Both walk the items in wire order; should they ever disagree, keep the payload.
            guard layout.items.count == ids.count else { return nil }
            func write(_ members: [Int], _ bounds: [Range<Int>]) -> Block {
                let size = bounds.reduce(0) { total, range in
                    members[range].reduce(total) { $0 + layout.items[$1].whole.count } + 64
                }
                var bytes = take(size)
                var entries: [OTLPRequestLayout.WrittenEntry]? = []
                _ = layout.writeGroups(members, bounds: bounds, from: raw, gap: 0, into: &bytes, entries: &entries)
                return Block(bytes: bytes, facts: facts.written(members, entries ?? []))
            }
            var blocks: [Block] = []
            let cold = hot.indices.filter { !hot[$0] }
            if !cold.isEmpty {
                let coldBytes = cold.reduce(0) { $0 + layout.items[$1].whole.count }
                let perBlock = coldBytes > maxBytes && cold.count > 1
                    ? max(1, Int((Double(cold.count) * Double(maxBytes) / Double(coldBytes)).rounded(.down)))
                    : cold.count
                for first in stride(from: 0, to: cold.count, by: perBlock) {
                    blocks.append(write(cold, [first..<min(first + perBlock, cold.count)]))
                }
            }
            if anyHot {
                let (members, groups) = traces.group(where: hotTrace)
                blocks.append(write(members, groups))
            }
            return blocks
        }
    }

    /// The traces of a payload's items, numbered by first appearance: one hash lookup per
    /// item, and whatever is decided per trace (hot or not) is decided once.
    struct TraceNumbers {
        /// Each item's trace number; -1 for an item without a trace id.
        var numbers: [Int]
        /// Each trace's id and item count, by number.
        var ids: [OTLPTraceID] = []
        var counts: [Int] = []

        init(_ itemIDs: [OTLPTraceID?]) {
            numbers = [Int](repeating: -1, count: itemIDs.count)
            var known: [OTLPTraceID: Int] = [:]
            for (index, id) in itemIDs.enumerated() {
                guard let id else { continue }
                let number: Int
                if let seen = known[id] {
                    number = seen
                } else {
                    number = ids.count
                    known[id] = number
                    ids.append(id)
                    counts.append(0)
                }
                numbers[index] = number
                counts[number] += 1
            }
        }

        /// The positions of the items of the traces `included` (by number), ordered by trace
        /// (first appearance order), and each trace's range in that order.
        func group(where included: [Bool]) -> (members: [Int], groups: [Range<Int>]) {
            var start = [Int](repeating: 0, count: counts.count)
            var groups: [Range<Int>] = []
            var next = 0
            for (number, count) in counts.enumerated() where included[number] {
                start[number] = next
                groups.append(next..<(next + count))
                next += count
            }
            var members = [Int](repeating: 0, count: next)
            for (index, number) in numbers.enumerated() where number >= 0 && included[number] {
                members[start[number]] = index
                start[number] += 1
            }
            return (members, groups)
        }
    }
}
