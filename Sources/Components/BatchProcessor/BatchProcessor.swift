import Buffers
import CollectorCore

/// The `batch` processor: merges small requests into batches of `send_batch_size` items, sends
/// what it holds after `timeout`, and splits anything larger than `send_batch_max_size`.
///
/// Design: requests are merged by concatenating their serialized bytes (see `TelemetryBatch`),
/// so batching never decodes. A request of `minPartBytes` or more is not copied at all: the
/// batch keeps its buffer as a part, and the pipeline joins the parts only where a consumer
/// needs the batch in one buffer (`TelemetryBatch.join`). Smaller ones are copied into room
/// reserved for the batch. Splitting (only with `send_batch_max_size`) uses `split`, which
/// cuts a request at span / log record granularity. A split piece carries references to every
/// token of the data it was cut from, so no request is acknowledged before all its pieces are.
/// Confined to its pipeline's queue (see `Processor`); time comes from the pipeline's clock.
public final class BatchProcessor: Processor {
    /// Cuts a serialized request into requests of at most `maxItems` items: (bytes, count, and
    /// the indexes of the source's resource entries each piece holds, in order).
    public typealias Splitter = @Sendable (Signal, [UInt8], Int) throws -> [(bytes: [UInt8], count: Int, resources: [Int])]

    private let settings: BatchSettings
    private let split: Splitter
    private let sendSize: Histogram
    private let sizeTriggers: Counter
    private let timeoutTriggers: Counter
    private var pending: TelemetryBatch?
    /// Requests at least this large are merged by reference (kept as parts), smaller ones by
    /// copy: a copy of a few pages is cheaper than keeping a buffer per request.
    public static let minPartBytes = 64 << 10
    private var deadline: UInt64?

    public init(settings: BatchSettings, name: String, metrics: MetricsRegistry, split: @escaping Splitter) {
        self.settings = settings
        self.split = split
        let labels = [("processor", name)]
        sendSize = metrics.histogram(
            "otelcol_processor_batch_batch_send_size", help: "Number of units in the batch", labels: labels,
            bounds: [10, 25, 50, 75, 100, 250, 500, 750, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000,
                     10000, 20000, 30000, 50000, 100000])
        sizeTriggers = metrics.counter("otelcol_processor_batch_batch_size_trigger_send_total",
                                       help: "Number of times the batch was sent due to a size trigger", labels: labels)
        timeoutTriggers = metrics.counter("otelcol_processor_batch_timeout_trigger_send_total",
                                          help: "Number of times the batch was sent due to a timeout trigger", labels: labels)
    }

    public var nextDeadline: UInt64? { deadline }

    /// Batching regroups requests; every span or record leaves as it came.
    public var passesDataUnchanged: Bool { true }

    public func process(_ batch: TelemetryBatch, now: UInt64, emit: (TelemetryBatch) -> Void) {
        if settings.timeout == 0 {
            return send(batch, emit: emit)
        }
        if pending == nil {
            pending = batch
            reserveRoom(&pending!)
            deadline = now + settings.timeout
        } else {
            pending!.append(batch, keepingPartsFrom: Self.minPartBytes)
        }
        if pending!.itemCount >= settings.sendBatchSize {
            sizeTriggers.increment()
            sendPending(emit: emit)
        }
    }

    /// Gives a new pending batch room for `send_batch_size` items of its first request's size
    /// (capped at 16 MiB), so that merging copies each request once instead of regrowing the
    /// buffer again and again. The room comes from `PayloadPool.shared` (the buffer of a batch
    /// already exported, its pages already faulted in) or is a fresh buffer, which glibc maps
    /// (see collectord's allocator tuning): pages never written are never touched, so a batch
    /// sent early by the timeout costs no memory for the room it did not use. A first request of
    /// `minPartBytes` or more gets no room: the large requests after it are kept as parts.
    private func reserveRoom(_ batch: inout TelemetryBatch) {
        guard batch.itemCount > 0, settings.sendBatchSize > batch.itemCount,
              batch.payload.count < Self.minPartBytes else { return }
        let perItem = (batch.payload.count + batch.itemCount - 1) / batch.itemCount
        // The request that reaches send_batch_size overshoots it by up to its own size: room
        // for two more requests like the first keeps the last append from regrowing.
        let room = min(perItem * (settings.sendBatchSize + 2 * batch.itemCount) + 4096, 16 << 20)
        guard room > batch.payload.count else { return }
        PayloadPool.shared.regrow(&batch.payload, toCapacity: room)
    }

    public func timerFired(now: UInt64, emit: (TelemetryBatch) -> Void) {
        guard let deadline, now >= deadline, pending != nil else { return }
        timeoutTriggers.increment()
        sendPending(emit: emit)
    }

    public func flush(emit: (TelemetryBatch) -> Void) {
        sendPending(emit: emit)
    }

    private func sendPending(emit: (TelemetryBatch) -> Void) {
        guard let batch = pending else { return }
        pending = nil
        deadline = nil
        send(batch, emit: emit)
    }

    /// Emits `batch`, cut into pieces of at most `send_batch_max_size` items when set.
    private func send(_ batch: TelemetryBatch, emit: (TelemetryBatch) -> Void) {
        let max = settings.sendBatchMaxSize
        guard max > 0, batch.itemCount > max else {
            sendSize.observe(Double(batch.itemCount))
            return emit(batch)
        }
        var batch = batch
        batch.join()
        let pieces: [(bytes: [UInt8], count: Int, resources: [Int])]
        do {
            pieces = try split(batch.signal, batch.payload, max)
            guard !pieces.isEmpty else { throw ComponentError.permanent("nothing to split") }
        } catch {
            // The receivers validated this data, so this should not happen; pass it on whole
            // rather than lose it.
            sendSize.observe(Double(batch.itemCount))
            return emit(batch)
        }
        batch.retainTokens(copies: pieces.count - 1)
        for piece in pieces {
            sendSize.observe(Double(piece.count))
            var out = TelemetryBatch(signal: batch.signal, payload: piece.bytes, itemCount: piece.count, tokens: batch.tokens,
                                     origins: batch.origins.remapped(keeping: piece.resources))
            out.fedInline = batch.fedInline
            emit(out)
        }
    }
}
