/// The shape of a trace's tree: which span hangs under which, in what order, with which
/// log records, and the box-drawing prefix of each row.
struct TreeLayout {
    struct Row: Equatable {
        var span: Int
        /// Box drawing before the connector (`│  │  `).
        var prefix: String
        /// `├─ `, `└─ `, or "" for a root.
        var connector: String
        /// What the rows under this span start with.
        var childPrefix: String
    }

    /// Rows in display order (depth first).
    private(set) var rows: [Row] = []
    /// Children of each span, by start time.
    private(set) var children: [[Int]]
    /// Spans whose parent id is set but not in the trace.
    private(set) var orphans: Set<Int> = []
    /// Log records under each span (records for unknown spans are under the root span).
    private(set) var logs: [Int: [TraceView.Log]] = [:]
    /// Earliest start and latest end over the spans.
    let start: UInt64
    let end: UInt64

    init(_ trace: TraceView) {
        let spans = trace.spans
        start = spans.map(\.start).min() ?? 0
        end = spans.map(\.end).max() ?? start
        var byID: [String: Int] = [:]
        for (i, span) in spans.enumerated() where !span.spanID.isEmpty && byID[span.spanID] == nil {
            byID[span.spanID] = i
        }
        children = Array(repeating: [], count: spans.count)
        var roots: [Int] = []
        for (i, span) in spans.enumerated() {
            if let parent = byID[span.parentSpanID], parent != i, !span.parentSpanID.isEmpty {
                children[parent].append(i)
            } else {
                if !span.parentSpanID.isEmpty { orphans.insert(i) }
                roots.append(i)
            }
        }
        let order: (Int, Int) -> Bool = { a, b in
            (spans[a].start, spans[a].spanID, a) < (spans[b].start, spans[b].spanID, b)
        }
        for i in children.indices { children[i].sort(by: order) }
        roots.sort(by: order)
        // The root span: the earliest without parent, else the earliest.
        let main = roots.first { spans[$0].parentSpanID.isEmpty } ?? roots.first ?? 0
        for log in trace.logs {
            logs[byID[log.spanID] ?? main, default: []].append(log)
        }
        var visited = Set<Int>()
        for root in roots {
            place(root, prefix: "", connector: "", &visited)
        }
        // Spans in a parent cycle are reachable from no root: show them as roots too.
        for i in spans.indices.sorted(by: order) where !visited.contains(i) {
            place(i, prefix: "", connector: "", &visited)
        }
    }

    private mutating func place(_ span: Int, prefix: String, connector: String, _ visited: inout Set<Int>) {
        guard visited.insert(span).inserted else { return }
        let childPrefix = prefix + (connector == "├─ " ? "│  " : connector == "└─ " ? "   " : "")
        rows.append(Row(span: span, prefix: prefix, connector: connector, childPrefix: childPrefix))
        let kids = children[span].filter { !visited.contains($0) }
        for (i, child) in kids.enumerated() {
            place(child, prefix: childPrefix, connector: i == kids.count - 1 ? "└─ " : "├─ ", &visited)
        }
    }
}
