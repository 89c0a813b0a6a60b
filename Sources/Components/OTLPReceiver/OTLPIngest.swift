import CollectorCore
import OTLPCodec
import Synchronization
import Transport

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
        /// The request would take more memory to process than one request may (too many items
        /// for its size): do not retry it as it is.
        case tooLarge(String)
        /// No pipeline takes this signal from this receiver.
        case unsupported(String)
        /// A pipeline or exporter failed; `error` says whether to retry.
        case failed(ComponentError)
    }

    /// What processing a request costs beyond its bytes, per span or log record: the per-item
    /// facts the pipeline's stages keep while they work on it (the store's index scan keeps
    /// about 90 bytes an item; an empty span is 2 bytes on the wire, so a 4 MB request of them
    /// would take 45 times its size).
    static let footprintPerItem = 96
    /// The most one request may take to process (its decoded footprint), whatever the budget.
    static let maxFootprint = 64 << 20

    private let receiverName: String
    private let consumers = Mutex<[Signal: any Consumer]>([:])
    private let metrics: MetricsRegistry
    private let budget: RequestBudget

    init(receiverName: String, metrics: MetricsRegistry, budget: RequestBudget = .shared) {
        self.receiverName = receiverName
        self.metrics = metrics
        self.budget = budget
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
            counts = try OTLPValidator.counts(OTLPSignal(signal), protobuf: protobuf)
        } catch {
            return respond(.invalid("\(error)"))
        }
        let count = counts.items
        let item = signal.itemMetricName
        let labels = [("receiver", receiverName), ("transport", transport)]
        guard count > 0 else { return respond(.success) }
        // Decoding amplification: the request's footprint while it is handed to the pipeline
        // (its bytes plus the per-item facts stages keep) is checked against the request
        // budget, like the bytes of requests still arriving.
        let footprint = protobuf.count + count * Self.footprintPerItem
        let bound = min(Self.maxFootprint, budget.limit)
        if footprint > bound {
            return respond(.tooLarge("request of \(protobuf.count) bytes holds \(count) \(item): processing it would take "
                                     + "about \(footprint) bytes, more than the \(bound) one request may take"))
        }
        guard budget.reserve(footprint, current: 0) else {
            return respond(.failed(.retryable("server busy: too many bytes held by requests in progress; retry later")))
        }
        defer { budget.release(footprint) }
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
