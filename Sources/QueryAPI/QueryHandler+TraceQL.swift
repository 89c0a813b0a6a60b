import Dispatch
import OTLPCodec
import Store

/// `/api/search?q=<TraceQL>&limit=&start=&end=&spss=` (Tempo's search, as Grafana's Tempo data
/// source and people send it): the newest traces with a matching spanset, each with its
/// matched spansets (at most `spss` spans shown per spanset, 3 by default). A query outside the
/// supported subset (`TraceQLQuery`) is a 400 naming the unsupported part.
///
/// How: the store's search gives candidate traces in the time range, newest first, narrowed by
/// what the query requires of one span (service, span name, string attributes, `status =
/// error`: its indexes and tag search) and by a minimum trace duration (a span lasting more
/// than X is in a trace lasting more than X); each candidate is read and evaluated until `limit`
/// traces matched. Candidates are asked for in rounds (`limit`, then 4 times as many...,
/// up to `traceQLCandidateLimit`), so a selective store search is not asked for thousands of
/// candidates a query does not need; everything stays within the query's read budget (a cut
/// answer is marked partial).
extension QueryHandler {
    static let traceQLCandidateLimit = 20_000

    func traceQLSearch(_ p: QueryParameters, _ text: String) -> QueryResponse {
        let evaluator: TraceQLEvaluator
        do throws(TraceQLParser.ParseError) {
            evaluator = try TraceQLEvaluator(try TraceQLParser.parse(text))
        } catch {
            return .text(400, "invalid TraceQL query: \(error.message)")
        }
        let limit = p["limit"].flatMap { Int($0) } ?? 20
        let spss = p["spss"].flatMap { Int($0) } ?? 3
        guard limit > 0, spss > 0 else { return .text(400, "limit and spss must be positive integers") }
        var start: UInt64?, end: UInt64?
        for (name, slot) in [("start", 0), ("end", 1)] {
            guard let value = p[name] else { continue }
            guard let seconds = UInt64(value) else { return .text(400, "\(name) must be unix seconds") }
            if slot == 0 { start = seconds * 1_000_000_000 } else { end = seconds * 1_000_000_000 }
        }
        let query = evaluator.query
        var out = JSONOutput(capacity: 1024)
        out.raw("{\"traces\":[")
        var first = true
        var found = 0
        var inspected = 0
        var inspectedBytes = 0
        let names = evaluator.attributeNames
        var seen = Set<OTLPTraceID>()
        var wanted = limit
        rounds: while true {
            let candidates = reader.search(TraceQuery(service: query.requiredService, operation: query.requiredName, tags: query.requiredTags,
                                                      numeric: query.requiredNumeric,
                                                      minDuration: query.minimumTraceDuration.map { .nanoseconds(Int64(min($0, UInt64(Int64.max)))) },
                                                      start: start, end: end, limit: wanted), budget: budget)
            let fresh = candidates.filter { seen.insert($0.traceID).inserted }
            // Candidates are read and evaluated a chunk at a time on every core, then taken in
            // order (newest first) until `limit` matched.
            var next = 0
            while next < fresh.count {
                guard found < limit, budget.mayContinue() else { break rounds }
                let chunk = Array(fresh[next..<min(fresh.count, next + Self.traceQLChunk)])
                next += chunk.count
                let evaluated = Self.evaluate(chunk, reader: reader, budget: budget, evaluator: evaluator, names: names)
                for (summary, result) in zip(chunk, evaluated) {
                    guard found < limit, let (trace, spansets, bytes) = result else { continue }
                    inspected += 1
                    inspectedBytes += bytes
                    guard !spansets.isEmpty else { continue }
                    found += 1
                    out.comma(&first)
                    TempoFormat.traceHead(&out, traceID: summary.traceID, rootService: trace.rootService, rootName: trace.rootName,
                                          start: trace.start, durationNanos: trace.end > trace.start ? trace.end - trace.start : 0)
                    out.raw(",\"spanSet\":")
                    Self.spanset(&out, spansets[0], trace, spss: spss, names: names)
                    out.raw(",\"spanSets\":[")
                    var firstSet = true
                    for set in spansets {
                        out.comma(&firstSet)
                        Self.spanset(&out, set, trace, spss: spss, names: names)
                    }
                    out.raw("]}")
                }
            }
            if found >= limit || candidates.count < wanted || wanted >= Self.traceQLCandidateLimit || !budget.mayContinue() { break }
            wanted = min(wanted * 4, Self.traceQLCandidateLimit)
        }
        out.raw("],\"metrics\":{\"inspectedTraces\":\(inspected),\"inspectedBytes\":\"\(inspectedBytes)\",\"completedJobs\":1,\"totalJobs\":1}")
        if let partial = budget.partialReason {
            out.raw(",\"partial\":")
            out.string(partial)
        }
        out.raw("}")
        return .json(out.bytes)
    }

    static let traceQLChunk = 16

    /// Reads and evaluates `chunk` in parallel; each result in the chunk's order (nil: not
    /// stored any more).
    private static func evaluate(_ chunk: [TraceSummary], reader: any TraceReader, budget: ReadBudget, evaluator: TraceQLEvaluator,
                                 names: [String]) -> [(TraceQLTrace, [[Int]], Int)?] {
        var items = [(TraceQLTrace, [[Int]], Int)?](repeating: nil, count: chunk.count)
        items.withUnsafeMutableBufferPointer { buffer in
            // `nonisolated(unsafe)`: each slot is written by one iteration only, and read after
            // concurrentPerform returns.
            nonisolated(unsafe) let slots = buffer
            DispatchQueue.concurrentPerform(iterations: chunk.count) { i in
                guard budget.mayContinue(), let stored = reader.trace(id: chunk[i].traceID.bytes, budget: budget) else { return }
                let trace = TraceQLTrace(spans: stored.spans, attributes: names)
                slots[i] = (trace, evaluator.spansets(trace), stored.spans.count)
            }
        }
        return items
    }

    private static func spanset(_ out: inout JSONOutput, _ indexes: [Int], _ trace: TraceQLTrace, spss: Int, names: [String]) {
        out.raw("{\"spans\":[")
        var first = true
        for i in indexes.prefix(spss) {
            let span = trace.spans[i]
            out.comma(&first)
            out.raw("{\"spanID\":")
            out.string(span.spanID.withUnsafeBytes { Hex.string($0) })
            out.raw(",\"name\":")
            out.string(span.name)
            out.raw(",\"startTimeUnixNano\":\"\(span.start)\",\"durationNanos\":\"\(span.end > span.start ? span.end - span.start : 0)\"")
            out.raw(",\"attributes\":[")
            var firstAttribute = true
            var attributes: [(key: String, value: TraceQLTrace.Value)] = [("service.name", .string(trace.service(of: span)))]
            for name in names where name != "service.name" {
                if let v = span.attributes.first(where: { $0.key == name })?.value ?? trace.resources[span.resource].first(where: { $0.key == name })?.value {
                    attributes.append((name, v))
                }
            }
            for (key, value) in attributes {
                out.comma(&firstAttribute)
                out.raw("{\"key\":")
                out.string(key)
                out.raw(",\"value\":")
                Self.value(&out, value)
                out.raw("}")
            }
            out.raw("]}")
        }
        out.raw("],\"matched\":\(indexes.count)}")
    }

    static func value(_ out: inout JSONOutput, _ value: TraceQLTrace.Value) {
        switch value {
        case .string(let s), .other(let s):
            out.raw("{\"stringValue\":")
            out.string(s)
            out.raw("}")
        case .int(let i): out.raw("{\"intValue\":\"\(i)\"}")
        case .double(let d):
            out.raw("{\"doubleValue\":")
            out.double(d)
            out.raw("}")
        case .bool(let b): out.raw("{\"boolValue\":\(b)}")
        }
    }
}
