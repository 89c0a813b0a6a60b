import Buffers
import Dispatch
import Synchronization

/// One exporter of one pipeline: a bounded ring in front of the exporter and a serial queue that
/// drains it.
///
/// Design: the pipeline pushes batches into `ring` (never blocking; a full ring is the
/// pipeline's signal to hold its output, which backs up into the receivers). `drain` runs on
/// `queue`, exports one batch at a time, counts sent/failed items, releases the batch's token
/// references with the outcome, then wakes the pipeline in case it was waiting for room. An
/// `AsyncExporter` gets up to `maxInFlight` batches at once; each is completed when its
/// delivery calls back, and the stage drains again as slots free up. `finish` drains what is
/// queued, waits for the deliveries out, and shuts the exporter down.
public final class ExporterStage: Sendable {
    public let name: String
    public let signal: Signal
    public let exporter: any Exporter
    let ring: BoundedRing<TelemetryBatch>
    private let queue: DispatchQueue
    private let scheduled = Atomic<Bool>(false)
    private let sent: Counter
    private let failed: Counter
    private let logger: Logger
    private let gaugeIDs: [UInt64]
    /// Called after each batch leaves the ring (the pipeline uses it to resume a held fan-out).
    private let onSpace = Mutex<(@Sendable () -> Void)?>(nil)
    /// Batches handed to an `AsyncExporter` and not completed yet.
    private let inFlight = Atomic<Int>(0)
    private let outstanding = DispatchGroup()

    public init(name: String, signal: Signal, exporter: any Exporter, capacity: Int,
                metrics: MetricsRegistry, logger: Logger) {
        self.name = name
        self.signal = signal
        self.exporter = exporter
        self.ring = BoundedRing(capacity: capacity)
        self.queue = DispatchQueue(label: "exporter.\(name).\(signal)")
        self.logger = logger
        let item = signal.itemMetricName
        sent = metrics.counter("otelcol_exporter_sent_\(item)_total",
                               help: "Number of \(item) successfully sent to destination.",
                               labels: [("exporter", name)])
        failed = metrics.counter("otelcol_exporter_send_failed_\(item)_total",
                                 help: "Number of \(item) in failed attempts to send to destination.",
                                 labels: [("exporter", name)])
        let ring = self.ring
        let labels = [("exporter", name), ("data_type", signal.rawValue)]
        gaugeIDs = [
            metrics.callback("otelcol_exporter_queue_size", help: "Current size of the exporter's ring (batches).",
                             labels: labels) { Double(ring.count) },
            metrics.callback("otelcol_exporter_queue_capacity", help: "Capacity of the exporter's ring (batches).",
                             labels: labels) { Double(ring.capacity) },
        ]
    }

    func setSpaceHandler(_ handler: @escaping @Sendable () -> Void) {
        onSpace.withLock { $0 = handler }
    }

    /// Queues `batch`; false when the ring is full (the caller keeps it).
    func offer(_ batch: TelemetryBatch) -> Bool {
        guard ring.push(batch) else { return false }
        schedule()
        return true
    }

    private func schedule() {
        if scheduled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            queue.async { self.drain() }
        }
    }

    private func drain() {
        scheduled.store(false, ordering: .releasing)
        if let async = exporter as? any AsyncExporter {
            while inFlight.load(ordering: .acquiring) < max(1, async.maxInFlight), let batch = ring.pop() {
                onSpace.withLock { $0 }?()
                exportAsync(batch, async)
            }
            return
        }
        while let batch = ring.pop() {
            onSpace.withLock { $0 }?()
            exportOne(batch)
        }
    }

    private func exportAsync(_ batch: TelemetryBatch, _ exporter: any AsyncExporter) {
        inFlight.add(1, ordering: .acquiringAndReleasing)
        outstanding.enter()
        exporter.export(batch) { [self] error in
            count(batch, error)
            batch.complete(error)
            batch.giveBuffers()
            inFlight.subtract(1, ordering: .acquiringAndReleasing)
            outstanding.leave()
            if !ring.isEmpty { schedule() }
        }
    }

    private func exportOne(_ batch: TelemetryBatch) {
        batch.complete(exportInline(batch))
        // Exported (or given up on): the next batch may reuse the buffers (`PayloadPool`).
        batch.giveBuffers()
    }

    /// Exports `batch` at once on the caller's thread, counts the outcome and returns the error.
    /// The pipeline calls it for an exporter that `exportsInline` as a request enters; the
    /// batch's tokens are not the stage's to release then (the pipeline holds a reference of its
    /// own around the call).
    func exportInline(_ batch: TelemetryBatch) -> ComponentError? {
        do throws(ComponentError) {
            try exporter.export(batch)
        } catch {
            count(batch, error)
            return error
        }
        count(batch, nil)
        return nil
    }

    /// Counts `batch`'s items as sent, or as failed with `error` (logged).
    private func count(_ batch: TelemetryBatch, _ error: ComponentError?) {
        guard let error else { return sent.add(batch.itemCount) }
        failed.add(batch.itemCount)
        logger.warn("exporting \(batch.itemCount) \(signal.itemMetricName) failed: \(error.message)")
    }

    /// Exports everything queued, then shuts the exporter down; `completion` runs on the stage's
    /// queue. Call after the pipeline stopped offering.
    func finish(completion: @escaping @Sendable () -> Void) {
        queue.async {
            self.drain()
            // An async exporter's batches leave as slots free up: drain until all are out.
            while !self.ring.isEmpty || self.inFlight.load(ordering: .acquiring) > 0 {
                self.outstanding.wait()
                self.drain()
            }
            self.exporter.shutdown()
            completion()
        }
    }

    func removeMetrics(_ metrics: MetricsRegistry) {
        let labels = [("exporter", name), ("data_type", signal.rawValue)]
        metrics.removeCallback("otelcol_exporter_queue_size", labels: labels, id: gaugeIDs[0])
        metrics.removeCallback("otelcol_exporter_queue_capacity", labels: labels, id: gaugeIDs[1])
    }
}
