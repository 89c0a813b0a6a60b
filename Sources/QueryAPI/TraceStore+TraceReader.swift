import Store

/// The store is the production `TraceReader`: `trace(id:)`, `services()` and
/// `operations(service:)` are the store's own methods (same signatures, same thread-safety:
/// any number of concurrent queries, concurrent with ingestion, sealing and retention);
/// only search is adapted.
extension TraceStore: TraceReader {
    public func search(_ query: TraceQuery, budget: ReadBudget) -> [TraceSummary] {
        search(service: query.service, operation: query.operation, tags: query.tags, numeric: query.numeric,
               minDuration: query.minDuration, maxDuration: query.maxDuration,
               start: query.start, end: query.end, limit: max(1, query.limit), budget: budget)
    }
}
