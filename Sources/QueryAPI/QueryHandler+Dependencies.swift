import OTLPCodec
import Store
#if canImport(Glibc)
import Glibc
#endif

/// `/api/dependencies?endTs=<ms>&lookback=<ms>` (Jaeger's service graph): for the traces stored
/// in the window, each span whose parent is a span of another service is one call from the
/// parent's service to its own, as Jaeger's dependency jobs count them. At most
/// `maxTraces` traces are read (the newest the search finds), within the query's read budget;
/// a cut answer says so in `errors`.
extension QueryHandler {
    static let dependencyTraceLimit = 10_000
    static let defaultLookbackMillis: UInt64 = 86_400_000

    func dependencies(_ p: QueryParameters) -> QueryResponse {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let nowMillis = UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
        guard let endMillis = p["endTs"].map({ UInt64($0) }) ?? nowMillis else {
            return .jaegerError(400, "unable to parse param 'endTs': expected milliseconds since the epoch")
        }
        guard let lookback = p["lookback"].map({ UInt64($0) }) ?? Self.defaultLookbackMillis else {
            return .jaegerError(400, "unable to parse param 'lookback': expected milliseconds")
        }
        let end = endMillis &* 1_000_000
        let start = end > lookback &* 1_000_000 ? end - lookback &* 1_000_000 : 0
        let summaries = reader.search(TraceQuery(start: start, end: end, limit: Self.dependencyTraceLimit), budget: budget)
        var calls: [String: [String: Int]] = [:]
        for summary in summaries where summary.startTimeUnixNano <= end && summary.startTimeUnixNano &+ summary.durationNanos >= start {
            guard let stored = reader.trace(id: summary.traceID.bytes, budget: budget),
                  let scan = try? OTLPScanner.spans(stored.spans) else { continue }
            var serviceOf: [UInt64: String] = [:]
            for span in scan.spans where span.spanID != 0 { serviceOf[span.spanID] = scan.services[span.resource] }
            for span in scan.spans where span.parentSpanID != 0 {
                let child = scan.services[span.resource]
                guard let parent = serviceOf[span.parentSpanID], parent != child else { continue }
                calls[parent, default: [:]][child, default: 0] += 1
            }
        }
        var out = JSONOutput(capacity: 64 + calls.count * 64)
        out.raw("{\"data\":[")
        var first = true
        var total = 0
        for (parent, children) in calls.sorted(by: { $0.key < $1.key }) {
            for (child, count) in children.sorted(by: { $0.key < $1.key }) {
                out.comma(&first)
                out.raw("{\"parent\":")
                out.string(parent)
                out.raw(",\"child\":")
                out.string(child)
                out.raw(",\"callCount\":\(count)}")
                total += 1
            }
        }
        out.raw("],\"total\":\(total),\"limit\":0,\"offset\":0,\"errors\":")
        if let partial = budget.partialReason {
            out.raw("[{\"code\":206,\"msg\":")
            out.string("partial result: \(partial)")
            out.raw("}]}")
        } else {
            out.raw("null}")
        }
        return .json(out.bytes)
    }
}
