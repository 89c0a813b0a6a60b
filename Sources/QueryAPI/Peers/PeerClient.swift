import HTTPClient
import OTLPCodec
import Store

/// Asks one peer's query extension for its part of a trace or a search. Requests carry
/// `X-Collectord-Peer: 1`, so the peer answers from its own store without asking its peers
/// in turn (no fan-out loops). Thread-safe (the HTTP client's pool is).
struct PeerClient: Sendable {
    static let peerHeader = "X-Collectord-Peer"

    let endpoint: String
    let client: HTTPClient
    let headers: [(name: String, value: String)]

    /// The peer's spans and log records of `id` (OTLP protobuf; empty when it has none).
    func trace(_ id: OTLPTraceID) -> Result<(spans: [UInt8], logs: [UInt8]), PeerFailure> {
        let spans: [UInt8]
        switch get("/api/traces/\(id.hex)", accept: "application/protobuf") {
        case .success(let response) where response.status == 200: spans = response.body
        case .success(let response) where response.status == 404: spans = []
        case .success(let response): return .failure(PeerFailure("\(endpoint) answered \(response.status) for the trace"))
        case .failure(let error): return .failure(PeerFailure("\(endpoint): \(error.message)"))
        }
        switch get("/api/traces/\(id.hex)/logs", accept: "application/protobuf") {
        case .success(let response) where response.status == 200: return .success((spans, response.body))
        case .success(let response) where response.status == 404: return .success((spans, []))
        case .success(let response): return .failure(PeerFailure("\(endpoint) answered \(response.status) for the trace's logs"))
        case .failure(let error): return .failure(PeerFailure("\(endpoint): \(error.message)"))
        }
    }

    /// The peer's own results of `query`.
    func search(_ query: TraceQuery) -> Result<[TraceSummary], PeerFailure> {
        switch get(PeerSearch.path + "?" + PeerSearch.queryString(query), accept: "text/plain") {
        case .success(let response) where response.status == 200:
            guard let summaries = PeerSearch.summaries(response.body) else { return .failure(PeerFailure("\(endpoint) sent a malformed search answer")) }
            return .success(summaries)
        case .success(let response): return .failure(PeerFailure("\(endpoint) answered \(response.status) for the search"))
        case .failure(let error): return .failure(PeerFailure("\(endpoint): \(error.message)"))
        }
    }

    private func get(_ path: String, accept: String) -> Result<HTTPResponse, HTTPClientError> {
        client.send(HTTPRequest(method: "GET", path: path,
                                headers: [("Accept", accept), (Self.peerHeader, "1")] + headers))
    }
}

/// Why a peer gave no answer (for the partial-result note).
struct PeerFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
