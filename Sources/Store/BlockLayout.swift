import OTLPCodec

/// How an appended request is laid out in blocks: by trace, in blocks of about
/// `StoreConfig.blockMaxBytes`.
///
/// Each trace's spans (log records) are written together, as one run of resource entries
/// holding only that trace's items (their resource and scope fields repeated), so that the
/// index can name a trace's slice of a block and a lookup walks only that slice; and blocks are
/// small, so that a lookup decompresses little (a trace found in 2,000 blocks reads 2,000 small
/// slices, not 2,000 whole batches). Traces go in the order their first item appears; items
/// without a trace id go last; items keep their wire order within a trace. A block is closed
/// at a trace boundary once it reaches the target; a trace larger than the target is cut at
/// item boundaries.
enum BlockLayout {
    /// The block payloads for `payload` (a serialized request of `kind`) with each one's item
    /// count; the input unchanged when it holds one trace and fits the target.
    static func cut(_ kind: BlockKind, _ payload: [UInt8], target: Int) throws(OTLPDecodeError) -> [(bytes: [UInt8], count: Int)] {
        try payload.withBytes { (raw) throws(OTLPDecodeError) in
            let signal: OTLPSignal = kind == .spans ? .traces : .logs
            let layout = try OTLPRequestLayout(signal, raw)
            let ids: [OTLPTraceID?] = switch kind {
            case .spans: try OTLPScanner.spans(raw).spans.map(\.traceID)
            case .logs: try OTLPScanner.logs(raw).records.map(\.traceID)
            }
            // Both walk the items in wire order; should they ever disagree, the payload is kept
            // as it is (one block; the index then has no exact slices for it).
            guard ids.count == layout.items.count else { return [(payload, ids.count)] }
            let (members, groups) = group(ids)
            if groups.count <= 1 && payload.count <= target { return [(payload, layout.items.count)] }
            var blocks: [(bytes: [UInt8], count: Int)] = []
            var bounds: [Range<Int>] = []
            var bytes = 0
            func close() {
                guard !bounds.isEmpty else { return }
                let written = layout.writeGroups(members, bounds: bounds, from: raw).bytes
                blocks.append((written, bounds.reduce(0) { $0 + $1.count }))
                bounds = []
                bytes = 0
            }
            for groupRange in groups {
                let groupBytes = groupRange.reduce(0) { $0 + layout.items[members[$1]].whole.count }
                if bytes > 0 && bytes + groupBytes > target { close() }
                var start = groupRange.lowerBound
                for k in groupRange {
                    let size = layout.items[members[k]].whole.count
                    if bytes + size > target && k > start {
                        bounds.append(start..<k)
                        close()
                        start = k
                    }
                    bytes += size
                }
                bounds.append(start..<groupRange.upperBound)
            }
            close()
            return blocks
        }
    }

    /// Item positions ordered by trace (first appearance order, no-trace items last), and
    /// each trace's range in that order.
    static func group(_ ids: [OTLPTraceID?]) -> (members: [Int], groups: [Range<Int>]) {
        var groupOf = [Int](repeating: -1, count: ids.count)
        var counts: [Int] = []
        var numbers: [OTLPTraceID: Int] = [:]
        var untraced = 0
        for (index, id) in ids.enumerated() {
            guard let id else {
                untraced += 1
                continue
            }
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
        groups.reserveCapacity(counts.count + 1)
        var next = 0
        for count in counts {
            groups.append(next..<(next + count))
            next += count
        }
        if untraced > 0 { groups.append(next..<(next + untraced)) }
        var fill = groups.map(\.lowerBound)
        var members = [Int](repeating: 0, count: ids.count)
        let noTrace = counts.count
        for (index, g) in groupOf.enumerated() {
            let slot = g < 0 ? noTrace : g
            members[fill[slot]] = index
            fill[slot] += 1
        }
        return (members, groups)
    }
}
