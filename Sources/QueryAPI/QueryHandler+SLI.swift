import OTLPCodec
import Store

/// `/api/collectord/v1/sli?service=S&latency=<ns>&end=<unix ns>&windows=<s>,<s>,...`: what an
/// SLO over the service's server spans needs (`collectorctl slo` computes the rest): per
/// window ending at `end`, the SERVER spans of the service that ended in it (`requests`), those
/// with status ERROR (`errors`) and those slower than `latency` (`slow`).
///
/// `{"service":"checkout","latencyNanos":300000000,"end":...,"windows":[{"seconds":2592000,
/// "requests":1000,"errors":2,"slow":25},...],"partial":null}`. The traces come from the
/// store's search (at most `sliTraceLimit`, within the query's read budget); a cut answer says
/// why in `partial`.
extension QueryHandler {
    static let sliTraceLimit = 200_000

    func sli(_ p: QueryParameters) -> QueryResponse {
        guard let service = p["service"], !service.isEmpty else { return .text(400, "parameter 'service' is required") }
        guard let latency = p["latency"].flatMap({ UInt64($0) }) else { return .text(400, "parameter 'latency' (nanoseconds) is required") }
        guard let end = p["end"].flatMap({ UInt64($0) }) else { return .text(400, "parameter 'end' (unix nanoseconds) is required") }
        let windows = (p["windows"] ?? "").split(separator: ",").compactMap { UInt64($0) }
        guard !windows.isEmpty, windows.allSatisfy({ $0 > 0 && $0 < 100 * 365 * 86_400 }) else {
            return .text(400, "parameter 'windows' must list window lengths in seconds, e.g. 2592000,21600,3600")
        }
        let longest = windows.max()! &* 1_000_000_000
        let start = end > longest ? end - longest : 0
        var counts = [(requests: Int, errors: Int, slow: Int)](repeating: (0, 0, 0), count: windows.count)
        let serviceBytes = Array(service.utf8)
        for summary in reader.search(TraceQuery(service: service, start: start, end: end, limit: Self.sliTraceLimit), budget: budget) {
            guard let stored = reader.trace(id: summary.traceID.bytes, budget: budget) else { continue }
            stored.spans.withUnsafeBytes { raw in
                guard let layout = try? OTLPRequestLayout(.traces, raw) else { return }
                var ofService: [Int: Bool] = [:]
                for item in layout.items {
                    let r = layout.scopes[item.scope].resource
                    let mine = ofService[r] ?? {
                        let attributes = OTLPAttributes.list(raw, layout.resources[r].resourceMessage, field: 1)
                        guard case .string(let name)? = OTLPAttributes.find(raw, attributes, key: Array("service.name".utf8)) else { return false }
                        return OTLPAttributes.equal(raw, name, serviceBytes)
                    }()
                    ofService[r] = mine
                    guard mine, let span = try? OTLPSpanFields(raw, item.payload), span.kind == 2 else { continue }
                    let duration = span.endTimeUnixNano > span.startTimeUnixNano ? span.endTimeUnixNano - span.startTimeUnixNano : 0
                    for (i, seconds) in windows.enumerated() {
                        let from = end > seconds &* 1_000_000_000 ? end - seconds &* 1_000_000_000 : 0
                        guard span.endTimeUnixNano > from && span.endTimeUnixNano <= end else { continue }
                        counts[i].requests += 1
                        if span.statusCode == 2 { counts[i].errors += 1 }
                        if duration > latency { counts[i].slow += 1 }
                    }
                }
            }
        }
        var out = JSONOutput(capacity: 256)
        out.raw("{\"service\":")
        out.string(service)
        out.raw(",\"latencyNanos\":\(latency),\"end\":\(end),\"windows\":[")
        var first = true
        for (i, seconds) in windows.enumerated() {
            out.comma(&first)
            out.raw("{\"seconds\":\(seconds),\"requests\":\(counts[i].requests),\"errors\":\(counts[i].errors),\"slow\":\(counts[i].slow)}")
        }
        out.raw("],\"partial\":")
        if let partial = budget.partialReason { out.string(partial) } else { out.raw("null") }
        out.raw("}")
        return .json(out.bytes)
    }
}
