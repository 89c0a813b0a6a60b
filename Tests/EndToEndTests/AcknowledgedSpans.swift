import CollectorTesting
import OTLPCodec
import Store

/// The crash tests' bookkeeping: which spans the SDK clients saw acknowledged, and which of
/// them are not in a store.
struct AcknowledgedSpans {
    var spans: [(trace: String, span: String)] = []
    var unacknowledged = 0

    /// Waits for each client's report and collects its spans by export outcome.
    init(_ clients: [ManagedProcess]) async throws {
        for client in clients {
            let report = try (try await client.result(timeout: .seconds(60))).decode(ClientReport.self)
            for span in report.spans ?? [] {
                if report.exports[span.exportIndex].result == "SUCCESS" {
                    spans.append((span.traceId, span.spanId))
                } else {
                    unacknowledged += 1
                }
            }
        }
    }

    /// `trace/span` of every acknowledged span that `store` does not hold.
    func missing(in store: TraceStore) -> [String] {
        var stored: [String: Set<UInt64>] = [:]
        var missing: [String] = []
        for (trace, span) in spans {
            if stored[trace] == nil {
                let found = OTLPTraceID(hex: trace).flatMap { store.trace($0) }.map { try? OTLPScanner.spans($0.spans).spans } ?? []
                stored[trace] = Set((found ?? []).map(\.spanID))
            }
            if !(stored[trace]!.contains(UInt64(span, radix: 16) ?? 0)) { missing.append("\(trace)/\(span)") }
        }
        return missing
    }
}
