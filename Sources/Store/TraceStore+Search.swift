import OTLPCodec

extension TraceStore {
    /// Traces matching every given condition, newest first (by start time), at most `limit`
    /// (`limit <= 0`: all). Thread-safe; see the type's concurrency contract.
    ///
    /// - A trace matches when one of its spans has `service.name == service` and name
    ///   `operation` (nil: any) and, on that same span, every tag in `tags` and every numeric
    ///   condition in `numeric` (see `OTLPSpanQuery` for how they compare, and the `error=true`
    ///   pseudo-tag);
    /// - its duration (latest span end minus earliest span start, over the whole trace) is
    ///   within `minDuration...maxDuration`;
    /// - its time span overlaps `start...end` (unix ns), and so does the part of it (its spans
    ///   in one segment) that has the service/operation span: a trace is found through a
    ///   part that overlaps the range.
    ///
    /// How: segments are visited newest data first; each gives its candidates (traces with a
    /// span of service/operation, with the start of their part there), popped from a heap
    /// latest first. Each candidate is completed with its parts from every segment (bloom
    /// filter, binary search), filtered, and with tags checked against its spans (reading its
    /// blocks). A trace's start is at most its part's start, so the search stops as soon as
    /// no remaining candidate can enter the `limit` results: a small limit reads little.
    /// When `budget` stops the search (deadline, blocks, cancellation), the results found so
    /// far are returned and `budget.stop` says why.
    public func search(
        service: String? = nil, operation: String? = nil, tags: [String: String] = [:],
        numeric: [OTLPSpanQuery.NumericCondition] = [], minDuration: Duration? = nil, maxDuration: Duration? = nil,
        start: UInt64? = nil, end: UInt64? = nil, limit: Int = 20, budget: ReadBudget = .unlimited
    ) -> [TraceSummary] {
        let segments = snapshot()
        let lower = start ?? 0
        let upper = end ?? .max
        let minimum = minDuration?.nanoseconds ?? 0
        let maximum = maxDuration?.nanoseconds ?? .max
        let wanted = limit > 0 ? limit : Int.max
        var verifier = tags.isEmpty && numeric.isEmpty ? nil : TagVerifier(
            store: self, segments: segments, query: OTLPSpanQuery(service: service, operation: operation, tags: tags, numeric: numeric),
            budget: budget)
        var results = SearchResults(limit: wanted)
        var seen: Set<OTLPTraceID> = []
        let searched = segments.compactMap { segment -> (Segment, UInt64)? in
            guard let range = segment.index.timeRange, range.min <= upper, range.max >= lower else { return nil }
            return (segment, range.max)
        }.sorted { $0.1 > $1.1 }
        var examined = 0
        searching: for (segment, latest) in searched {
            if results.excludes(start: latest) || !budget.mayContinue() { break }
            var heap = CandidateHeap(segment.index.candidates(service: service, operation: operation).filter {
                $0.start <= upper && $0.end >= lower
            })
            while let candidate = heap.pop() {
                if results.excludes(start: candidate.start) { break }
                examined += 1
                if examined % 64 == 0 && !budget.mayContinue() { break searching }
                guard seen.insert(candidate.id).inserted else { continue }
                var merged: TracePart?
                for other in segments where other.index.mightContain(candidate.id) {
                    guard let part = other.index.part(of: candidate.id) else { continue }
                    if merged == nil { merged = part } else { merged!.merge(part) }
                }
                guard let summary = merged?.summary(candidate.id), summary.spanCount > 0,
                      summary.durationNanos >= minimum, summary.durationNanos <= maximum,
                      summary.startTimeUnixNano <= upper, summary.startTimeUnixNano &+ summary.durationNanos >= lower,
                      results.admits(summary) else { continue }
                if verifier != nil, !verifier!.matches(candidate.id) {
                    if budget.stop != nil { break searching }
                    continue
                }
                results.insert(summary)
            }
        }
        return results.sorted()
    }
}

/// The best `limit` summaries so far, in search order (latest start first, then trace id).
private struct SearchResults {
    let limit: Int
    private var items: [TraceSummary] = []
    private var unsorted = false

    init(limit: Int) { self.limit = limit }

    static func before(_ a: TraceSummary, _ b: TraceSummary) -> Bool {
        a.startTimeUnixNano != b.startTimeUnixNano ? a.startTimeUnixNano > b.startTimeUnixNano : a.traceID < b.traceID
    }

    private var full: Bool { limit != Int.max && items.count >= limit }

    /// True when no trace starting at or before `start` can enter any more.
    func excludes(start: UInt64) -> Bool {
        full && start < items[items.count - 1].startTimeUnixNano
    }

    func admits(_ summary: TraceSummary) -> Bool {
        !full || Self.before(summary, items[items.count - 1])
    }

    mutating func insert(_ summary: TraceSummary) {
        guard limit != Int.max else {
            // No limit: collect, sort once at the end.
            items.append(summary)
            unsorted = true
            return
        }
        var lo = 0
        var hi = items.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if Self.before(items[mid], summary) { lo = mid + 1 } else { hi = mid }
        }
        items.insert(summary, at: lo)
        if items.count > limit { items.removeLast() }
    }

    func sorted() -> [TraceSummary] {
        unsorted ? items.sorted(by: Self.before) : items
    }
}

/// Checks candidates of a tag search against their spans, reading each block once per search.
private struct TagVerifier {
    let store: TraceStore
    let segments: [Segment]
    let query: OTLPSpanQuery
    let budget: ReadBudget
    var matchesByBlock: [BlockCache.Key: Set<OTLPTraceID>] = [:]

    init(store: TraceStore, segments: [Segment], query: OTLPSpanQuery, budget: ReadBudget) {
        self.store = store
        self.segments = segments
        self.query = query
        self.budget = budget
    }

    mutating func matches(_ id: OTLPTraceID) -> Bool {
        for segment in segments where segment.index.mightContain(id) {
            for block in segment.index.blocks(of: id).lazy.map(\.block) where block.kind == .spans {
                let key = BlockCache.Key(sequence: segment.sequence, offset: block.offset)
                if matchesByBlock[key] == nil {
                    guard budget.admit() else { return false }
                    var found: Set<OTLPTraceID> = []
                    if let payload = store.load(block, from: segment) {
                        do throws(OTLPDecodeError) {
                            found = try query.matchingTraces(payload)
                        } catch {
                            store.reportCorrupt(segment, block.offset, error.message)
                        }
                    }
                    matchesByBlock[key] = found
                }
                if matchesByBlock[key]!.contains(id) { return true }
            }
        }
        return false
    }
}
