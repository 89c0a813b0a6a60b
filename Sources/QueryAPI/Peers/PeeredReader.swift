import BackendResolver
import Dispatch
import HTTPClient
import OTLPCodec
import Store
import Synchronization

/// A `TraceReader` that answers for the whole fleet: the local reader (this node's store) plus
/// every peer the resolver names, asked in parallel and merged. A trace's parts are merged and
/// deduplicated (`OTLPTraceAssembler`, the store's own merge); searches are merged by trace id
/// (the summary with the most spans kept), newest first, cut at the limit. A peer that does not
/// answer makes the answer partial (`ReadBudget.notePartial`), never an error: what the others
/// have is still served. Thread-safe.
final class PeeredReader: TraceReader {
    let local: any TraceReader
    let peers: ResolvedEndpoints
    private let timeoutNanos: UInt64
    private let tls: TLSClientSettings?
    private let headers: [(name: String, value: String)]
    private let clients = Mutex<[String: HTTPClient]>([:])

    init(local: any TraceReader, peers: ResolvedEndpoints, timeoutNanos: UInt64, tls: TLSClientSettings?,
         headers: [(name: String, value: String)]) {
        self.local = local
        self.peers = peers
        self.timeoutNanos = timeoutNanos
        self.tls = tls
        self.headers = headers
    }

    func trace(id: [UInt8], budget: ReadBudget) -> (spans: [UInt8], logs: [UInt8])? {
        guard let traceID = OTLPTraceID(bytes: id) else { return nil }
        let (own, answers) = everywhere(budget, local: { $0.trace(id: id, budget: budget) }, peer: { $0.trace(traceID) })
        var spans = OTLPTraceAssembler(.traces, traceID: traceID)
        var logs = OTLPTraceAssembler(.logs, traceID: traceID)
        for part in [own] + answers {
            guard let part else { continue }
            // Parts come from stores that validated them at ingestion.
            try? spans.add(part.spans)
            try? logs.add(part.logs)
        }
        guard spans.itemCount > 0 || logs.itemCount > 0 else { return nil }
        return (spans.serialized(), logs.serialized())
    }

    func services() -> [String] { local.services() }

    func operations(service: String) -> [String] { local.operations(service: service) }

    func search(_ query: TraceQuery, budget: ReadBudget) -> [TraceSummary] {
        let (own, answers) = everywhere(budget, local: { $0.search(query, budget: budget) }, peer: { $0.search(query) })
        var best: [OTLPTraceID: TraceSummary] = [:]
        for summary in own + answers.compactMap({ $0 }).flatMap({ $0 }) {
            if let known = best[summary.traceID], known.spanCount >= summary.spanCount { continue }
            best[summary.traceID] = summary
        }
        let sorted = best.values.sorted {
            $0.startTimeUnixNano != $1.startTimeUnixNano ? $0.startTimeUnixNano > $1.startTimeUnixNano : $0.traceID < $1.traceID
        }
        return Array(sorted.prefix(max(1, query.limit)))
    }

    /// Reads locally and asks every peer, all at once; a peer that failed gives nil (and is
    /// noted on the budget).
    private func everywhere<L: Sendable, T: Sendable>(
        _ budget: ReadBudget, local read: @escaping @Sendable (any TraceReader) -> L,
        peer ask: @escaping @Sendable (PeerClient) -> Result<T, PeerFailure>
    ) -> (L, [T?]) {
        let endpoints = peers.current()
        let clients = endpoints.map(client)
        let own = Mutex<L?>(nil)
        let results = Mutex<[T?]>(Array(repeating: nil, count: clients.count))
        let local = self.local
        DispatchQueue.concurrentPerform(iterations: clients.count + 1) { i in
            guard i > 0 else { return own.withLock { $0 = read(local) } }
            guard let client = clients[i - 1] else { return budget.notePartial("peer \(endpoints[i - 1]) has an invalid address") }
            switch ask(client) {
            case .success(let value): results.withLock { $0[i - 1] = value }
            case .failure(let why): budget.notePartial("peer \(why)")
            }
        }
        return (own.withLock { $0! }, results.withLock { $0 })
    }

    private func client(_ endpoint: String) -> PeerClient? {
        let scheme = tls == nil ? "http" : "https"
        guard let address = HTTPEndpoint("\(scheme)://\(endpointWithPort(endpoint, 16686))") else { return nil }
        let http = clients.withLock { known -> HTTPClient? in
            if let client = known[endpoint] { return client }
            guard let client = try? HTTPClient(endpoint: address, tls: tls, timeoutNanos: timeoutNanos, maxIdleConnections: 2) else { return nil }
            known[endpoint] = client
            return client
        }
        return http.map { PeerClient(endpoint: endpoint, client: $0, headers: headers) }
    }
}
