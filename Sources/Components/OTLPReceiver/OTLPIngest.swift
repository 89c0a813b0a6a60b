import CollectorCore
import OTLPCodec
import Synchronization

/// The part of the OTLP receiver shared by gRPC and HTTP: validate and count a request, hand it
/// to the pipeline with a completion token, count accepted/refused items, and call `respond`
/// once every exporter has taken the data (or it was refused).
///
/// Thread-safe: called concurrently from the transport's connection queues.
final class OTLPIngest: Sendable {
    enum Outcome: Sendable {
        /// Every exporter took the data.
        case success
        /// The request itself is bad (malformed, undecodable): do not retry.
        case invalid(String)
        /// No pipeline takes this signal from this receiver.
        case unsupported(String)
        /// A pipeline or exporter failed; `error` says whether to retry.
        case failed(ComponentError)
    }

    private let receiverName: String
    private let consumers = Mutex<[Signal: any Consumer]>([:])
    private let metrics: MetricsRegistry

    init(receiverName: String, metrics: MetricsRegistry) {
        self.receiverName = receiverName
        self.metrics = metrics
    }

    func setConsumer(_ consumer: (any Consumer)?, for signal: Signal) {
        consumers.withLock { $0[signal] = consumer }
    }

    func hasConsumer(for signal: Signal) -> Bool {
        consumers.withLock { $0[signal] != nil }
    }

    /// Ingests one serialized export request.
    func ingest(_ signal: Signal, protobuf: [UInt8], transport: String, peer: String,
                respond: @escaping @Sendable (Outcome) -> Void) {
        guard let consumer = consumers.withLock({ $0[signal] }) else {
            return respond(.unsupported("this receiver is not part of a \(signal) pipeline"))
        }
        let counts: OTLPCounts
        do {
            counts = try OTLPValidator.counts(signal == .traces ? .traces : .logs, protobuf: protobuf)
        } catch {
            return respond(.invalid("\(error)"))
        }
        let count = counts.items
        let item = signal.itemMetricName
        let labels = [("receiver", receiverName), ("transport", transport)]
        guard count > 0 else { return respond(.success) }
        // accepted: pushed into the pipeline (what upstream counts with an asynchronous batch
        // processor); refused: the client was answered with an error, whether the pipeline
        // refused the request at once (a full ring) or an exporter did later through the
        // acknowledgement (the store on a full disk), which upstream cannot see.
        let accepted = metrics.counter("otelcol_receiver_accepted_\(item)_total",
                                       help: "Number of \(item) successfully pushed into the pipeline.", labels: labels)
        let refused = metrics.counter("otelcol_receiver_refused_\(item)_total",
                                      help: "Number of \(item) that could not be pushed into the pipeline.", labels: labels)
        let token = AckToken { error in
            if error != nil { refused.add(count) }
            respond(error.map { .failed($0) } ?? .success)
        }
        let origins = [BatchOrigin(resources: counts.resources, context: RequestContext(peerAddress: peer.isEmpty ? nil : peer))]
        let batch = TelemetryBatch(signal: signal, payload: protobuf, itemCount: count, tokens: [token], origins: origins)
        do {
            try consumer.consume(batch)
            accepted.add(count)
        } catch {
            token.release(error)
        }
    }

    /// Counts a request answered with an error before it reached the pipeline (malformed,
    /// too large, wrong path, method, content type or encoding), by the status answered: the
    /// HTTP status, or the gRPC status name. Backpressure is not counted here (see refused).
    func rejected(code: String, transport: String) {
        metrics.counter("collectord_receiver_rejected_requests_total",
                        help: "Requests answered with an error before reaching the pipeline (malformed, too large, wrong path, method, content type or encoding), by the status answered.",
                        labels: [("receiver", receiverName), ("transport", transport), ("code", code)]).increment()
    }

    /// Registers the counters at zero so /metrics shows them before the first request.
    func registerMetrics(transport: String) {
        let labels = [("receiver", receiverName), ("transport", transport)]
        for signal in Signal.allCases where hasConsumer(for: signal) {
            let item = signal.itemMetricName
            _ = metrics.counter("otelcol_receiver_accepted_\(item)_total",
                                help: "Number of \(item) successfully pushed into the pipeline.", labels: labels)
            _ = metrics.counter("otelcol_receiver_refused_\(item)_total",
                                help: "Number of \(item) that could not be pushed into the pipeline.", labels: labels)
        }
    }
}
