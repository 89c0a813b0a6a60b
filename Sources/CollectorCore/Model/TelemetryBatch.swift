import Buffers

/// The unit that moves between pipeline stages: one or more OTLP export requests of one signal.
///
/// `payload` is a serialized `ExportTraceServiceRequest` or `ExportLogsServiceRequest`.
/// Concatenating two serialized requests yields a valid request holding both (their
/// `resource_*` fields are repeated), so merging batches is byte concatenation and the data is
/// only decoded where a stage needs to look inside it.
///
/// The `batch` processor merges large requests by reference rather than by copy: their bytes
/// stay in the buffers they were received into, as `parts` after `payload`. The pipeline joins
/// a batch's parts into `payload` (`join`) before it reaches any processor, and before any
/// exporter that has not said it reads parts (`Exporter.readsParts`), so everywhere else the
/// data is `payload` alone.
///
/// Ownership: a batch holds one reference on each of its `tokens`. Whoever drops a batch
/// without handing it on must release them (see `AckToken`); whoever copies a batch to several
/// consumers must retain them once per extra copy (`TelemetryBatch.fannedOut`).
public struct TelemetryBatch: Sendable {
    public var signal: Signal
    public var payload: [UInt8]
    /// Data that follows `payload`, in order (empty except between the `batch` processor and
    /// `join`).
    public var parts: [[UInt8]] = []
    /// Number of spans or log records in `payload`.
    public var itemCount: Int
    /// Completion tokens of the requests whose data this batch carries.
    public var tokens: [AckToken]
    /// Where each resource entry of `payload` came from (empty: unknown). Stages that keep the
    /// resource entries as they are pass it on; stages that rewrite them remap it
    /// (`[BatchOrigin].remapped(keeping:)`) or drop it.
    public var origins: [BatchOrigin]
    /// The pipeline's inline exporters read this data at the pipeline's entry
    /// (`Exporter.exportsInline`), so its fan-out leaves them out. Each pipeline sets it as a
    /// batch enters; a merge keeps it only when both sides have it.
    public var fedInline = false

    public init(signal: Signal, payload: [UInt8], itemCount: Int, tokens: [AckToken] = [], origins: [BatchOrigin] = []) {
        self.signal = signal
        self.payload = payload
        self.itemCount = itemCount
        self.tokens = tokens
        self.origins = origins
    }

    /// Appends `other`'s data and takes over its token references. The origins stay known
    /// only when both sides know theirs.
    ///
    /// Data of at least `minPartBytes` is kept as a part, by reference (no copy: a request
    /// moved in with the only reference to its buffer keeps that buffer); smaller data is
    /// copied onto the end, into the last part when it is small or has room, else into a new
    /// one. With the default every byte is copied, as before parts existed.
    public mutating func append(_ other: TelemetryBatch, keepingPartsFrom minPartBytes: Int = .max) {
        precondition(other.signal == signal, "cannot merge \(other.signal) into \(signal)")
        if origins.isEmpty || other.origins.isEmpty {
            origins = []
        } else {
            for run in other.origins { origins.appendRun(run) }
        }
        fedInline = fedInline && other.fedInline
        appendData(other.payload, minPartBytes)
        for part in other.parts { appendData(part, minPartBytes) }
        itemCount += other.itemCount
        tokens.append(contentsOf: other.tokens)
    }

    private mutating func appendData(_ bytes: [UInt8], _ minPartBytes: Int) {
        if payload.isEmpty, parts.isEmpty { return payload = bytes }
        if bytes.count >= minPartBytes { return parts.append(bytes) }
        if parts.isEmpty {
            if Self.takesCopy(of: bytes, after: payload, minPartBytes) { return payload.append(contentsOf: bytes) }
        } else if Self.takesCopy(of: bytes, after: parts[parts.count - 1], minPartBytes) {
            return parts[parts.count - 1].append(contentsOf: bytes)
        }
        var part: [UInt8] = []
        part.reserveCapacity(max(bytes.count, minPartBytes))
        part.append(contentsOf: bytes)
        parts.append(part)
    }

    /// Whether small data is copied onto the end of `last` rather than into a new part: a
    /// large buffer kept by reference takes it only into the room it has (regrowing it would
    /// copy all of it).
    private static func takesCopy(of bytes: [UInt8], after last: [UInt8], _ minPartBytes: Int) -> Bool {
        last.count < minPartBytes || last.capacity - last.count >= bytes.count
    }

    /// Calls `body` with `payload`, then with each part. Each is one or more whole requests (a
    /// part is a request kept by reference, or small ones copied together), so reading them
    /// one after another reads the batch, without joining it. `items` is the part's share of
    /// `itemCount` by bytes: a size hint, not a count.
    public func forEachPart<E: Error>(_ body: (_ bytes: [UInt8], _ items: Int) throws(E) -> Void) throws(E) {
        guard !parts.isEmpty else { return try body(payload, itemCount) }
        let total = max(1, byteCount)
        try body(payload, itemCount * payload.count / total + 1)
        for part in parts { try body(part, itemCount * part.count / total + 1) }
    }

    /// Bytes of data: `payload` and every part.
    public var byteCount: Int { parts.reduce(payload.count) { $0 + $1.count } }

    /// Copies the parts after `payload` into one buffer (taken from `PayloadPool.shared`), so
    /// that `payload` holds all the data. Nothing to do for a batch without parts.
    public mutating func join() {
        guard !parts.isEmpty else { return }
        var whole = PayloadPool.shared.take(capacity: byteCount)
        whole.append(contentsOf: payload)
        for part in parts { whole.append(contentsOf: part) }
        giveBuffers()   // copied: the pool may hand them out again
        payload = whole
        parts = []
    }

    /// Gives the buffers of a batch done with (exported, or joined) to `PayloadPool.shared`,
    /// for the next request body or batch to write into pages already faulted in. (Safe while
    /// another holder still reads the batch: a taker's first write copies a shared buffer.)
    public func giveBuffers() {
        PayloadPool.shared.give(payload)
        for part in parts { PayloadPool.shared.give(part) }
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
