import OTLPCodec

/// A trace found in one segment's index by a search: its id and the time span of its part in
/// that segment (the part's start is an upper bound of the whole trace's start).
struct SearchCandidate: Sendable {
    var id: OTLPTraceID
    var start: UInt64
    var end: UInt64

    /// Search order: later start first, then smaller id.
    static func before(_ a: SearchCandidate, _ b: SearchCandidate) -> Bool {
        a.start != b.start ? a.start > b.start : a.id < b.id
    }
}

/// A binary max-heap of candidates in search order, built in O(n) and popped lazily, so a
/// search with a small limit looks at the newest few candidates without sorting them all.
struct CandidateHeap {
    private var items: [SearchCandidate]

    init(_ items: [SearchCandidate]) {
        self.items = items
        var i = items.count / 2
        while i > 0 {
            i -= 1
            siftDown(i)
        }
    }

    var isEmpty: Bool { items.isEmpty }

    /// The first candidate in search order, removed.
    mutating func pop() -> SearchCandidate? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        siftDown(0)
        return top
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let count = items.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { return }
            var best = left
            if left + 1 < count, SearchCandidate.before(items[left + 1], items[left]) { best = left + 1 }
            guard SearchCandidate.before(items[best], items[parent]) else { return }
            items.swapAt(parent, best)
            parent = best
        }
    }
}
