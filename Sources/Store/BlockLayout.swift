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
enum BlockLayout {
    struct Block {
        var bytes: [UInt8]
        var count: Int
    }

    /// The block payloads for `payload` (a serialized request of `kind`): the items of traces
    /// that are not hot, as they came, then those of hot traces, grouped by trace; nil when
    /// the payload is one block as it is (nothing hot, and it fits).
    static func cut(_ kind: BlockKind, _ payload: [UInt8], maxBytes: Int, ids: [OTLPTraceID?],
                    isHot: (OTLPTraceID) -> Bool) throws(OTLPDecodeError) -> [Block]? {
        var hot: [Bool] = []
        var anyHot = false
        var memo: [OTLPTraceID: Bool] = [:]
        hot.reserveCapacity(ids.count)
        for id in ids {
            guard let id else {
                hot.append(false)
                continue
            }
            let known = memo[id] ?? { let h = isHot(id); memo[id] = h; return h }()
            hot.append(known)
            anyHot = anyHot || known
        }
        guard anyHot else {
            guard payload.count > maxBytes, ids.count > 1 else { return nil }
            return try split(kind, payload, maxBytes: maxBytes, count: ids.count)
        }
        return try payload.withBytes { (raw) throws(OTLPDecodeError) -> [Block] in
            let layout = try OTLPRequestLayout(kind == .spans ? .traces : .logs, raw)
            // Both walk the items in wire order; should they ever disagree, keep the payload.
            guard layout.items.count == ids.count else { return [Block(bytes: payload, count: ids.count)] }
            var blocks: [Block] = []
            let cold = hot.indices.filter { !hot[$0] }
            if !cold.isEmpty {
                blocks += try split(kind, layout.write(cold, from: raw), maxBytes: maxBytes, count: cold.count)
            }
            let (members, groups) = group(ids, where: hot)
            blocks.append(Block(bytes: layout.writeGroups(members, bounds: groups, from: raw).bytes, count: members.count))
            return blocks
        }
    }

    /// `payload` in pieces of at most `maxBytes` (by items), or whole.
    private static func split(_ kind: BlockKind, _ payload: [UInt8], maxBytes: Int, count: Int) throws(OTLPDecodeError) -> [Block] {
        guard payload.count > maxBytes, count > 1 else { return [Block(bytes: payload, count: count)] }
        let perBlock = max(1, Int((Double(count) * Double(maxBytes) / Double(payload.count)).rounded(.down)))
        return try OTLPSplitter.split(kind == .spans ? .traces : .logs, protobuf: payload, maxItems: perBlock)
            .map { Block(bytes: $0.bytes, count: $0.count) }
    }

    /// The positions of the items `included` ordered by trace (first appearance order), and
    /// each trace's range in that order.
    static func group(_ ids: [OTLPTraceID?], where included: [Bool]) -> (members: [Int], groups: [Range<Int>]) {
        var groupOf = [Int](repeating: -1, count: ids.count)
        var counts: [Int] = []
        var numbers: [OTLPTraceID: Int] = [:]
        for (index, id) in ids.enumerated() where included[index] {
            guard let id else { continue }
            let g: Int
            if let known = numbers[id] {
                g = known
            } else {
                g = counts.count
                numbers[id] = g
                counts.append(0)
            }
            groupOf[index] = g
            counts[g] += 1
        }
        var groups: [Range<Int>] = []
        groups.reserveCapacity(counts.count)
        var next = 0
        for count in counts {
            groups.append(next..<(next + count))
            next += count
        }
        var fill = groups.map(\.lowerBound)
        var members = [Int](repeating: 0, count: next)
        for (index, g) in groupOf.enumerated() where g >= 0 {
            members[fill[g]] = index
            fill[g] += 1
        }
        return (members, groups)
    }
}
