/// The unit that moves between pipeline stages: one or more OTLP export requests of one signal.
///
/// `payload` is a serialized `ExportTraceServiceRequest` or `ExportLogsServiceRequest`.
/// Concatenating two serialized requests yields a valid request holding both (their
/// `resource_*` fields are repeated), so merging batches is byte concatenation and the data is
/// only decoded where a stage needs to look inside it.
///
/// Ownership: a batch holds one reference on each of its `tokens`. Whoever drops a batch
/// without handing it on must release them (see `AckToken`); whoever copies a batch to several
/// consumers must retain them once per extra copy (`TelemetryBatch.fannedOut`).
public struct TelemetryBatch: Sendable {
    public var signal: Signal
    public var payload: [UInt8]
    /// Number of spans or log records in `payload`.
    public var itemCount: Int
    /// Completion tokens of the requests whose data this batch carries.
    public var tokens: [AckToken]
    /// Where each resource entry of `payload` came from (empty: unknown). Stages that keep the
    /// resource entries as they are pass it on; stages that rewrite them remap it
    /// (`[BatchOrigin].remapped(keeping:)`) or drop it.
    public var origins: [BatchOrigin]

    public init(signal: Signal, payload: [UInt8], itemCount: Int, tokens: [AckToken] = [], origins: [BatchOrigin] = []) {
        self.signal = signal
        self.payload = payload
        self.itemCount = itemCount
        self.tokens = tokens
        self.origins = origins
    }

    /// Appends `other`'s data and takes over its token references. The origins stay known
    /// only when both sides know theirs.
    public mutating func append(_ other: TelemetryBatch) {
        precondition(other.signal == signal, "cannot merge \(other.signal) into \(signal)")
        if origins.isEmpty || other.origins.isEmpty {
            origins = []
        } else {
            for run in other.origins { origins.appendRun(run) }
        }
        payload.append(contentsOf: other.payload)
        itemCount += other.itemCount
        tokens.append(contentsOf: other.tokens)
    }

    /// Releases every token reference this batch holds, with `error` (nil = success).
    public func complete(_ error: ComponentError? = nil) {
        for token in tokens { token.release(error) }
    }

    /// Adds `copies` extra references to each token, for handing the batch to more consumers.
    public func retainTokens(copies: Int) {
        guard copies > 0 else { return }
        for token in tokens { token.retain(copies) }
    }
}
