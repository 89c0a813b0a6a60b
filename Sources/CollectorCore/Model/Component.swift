import Dispatch

/// Where receivers hand their data: the entry of one pipeline, or a fan-out over several.
public protocol Consumer: Sendable {
    /// Takes `batch` and its token references, or throws (usually retryable: the pipeline is
    /// full or stopping). After a throw the caller still owns the batch and must release its
    /// tokens. Never blocks.
    func consume(_ batch: TelemetryBatch) throws(ComponentError)
}

/// A source of telemetry (OTLP listeners, file tailers).
///
/// Lifecycle contract: `start` returns quickly (it binds sockets or starts watchers, then
/// works on its own queues) and throws when it cannot run, naming why. `stopAccepting` stops
/// taking new work (closes listeners) but lets in-flight requests finish. `shutdown` is
/// idempotent, safe without `start`, and calls `completion` once every request it accepted has
/// been answered or `deadline` passed.
public protocol Receiver: AnyObject, Sendable {
    func start() throws
    /// Points the receiver's `signal` output at `consumer` (used when a reload rebuilds the
    /// pipelines behind a receiver that is kept).
    func setConsumer(_ consumer: (any Consumer)?, for signal: Signal)
    func stopAccepting()
    func shutdown(deadline: DispatchTime, completion: @escaping @Sendable () -> Void)

    /// Persisted state (the filelog checkpoint) that a replacement resumes from. Such a
    /// receiver is shut down completely before its successor starts, and during a reload its
    /// successor writes no state until the reload commits. Defaults to false and no-ops.
    var persistsState: Bool { get }
    /// State writes wait (a reload's new receiver, until the reload commits).
    func holdState()
    /// State writes may go on.
    func releaseState()
    /// No more state writes, from any thread, once a write under way is done (a successor, or
    /// the receiver restored by an undone reload, owns the state now).
    func abandonState()
}

extension Receiver {
    public var persistsState: Bool { false }
    public func holdState() {}
    public func releaseState() {}
    public func abandonState() {}
}

/// A stage between receivers and exporters (batch, samplers, enrichers).
///
/// Lifecycle contract (as for the other kinds): `start` is called once before the first
/// batch, returns quickly and throws when the processor cannot run (its storage cannot be
/// opened), naming why. `shutdown` is called once after the last call of any other method
/// (after `flush`, or after a handover); it is idempotent, safe without `start`, and releases
/// what the processor owns (files, locks). It emits nothing: `flush` does that.
///
/// Confinement contract: calls to one instance never overlap. A pipeline calls its processors
/// on its serial queue; during a reload an instance kept for the new pipeline may also be
/// called by the draining old one, and the service serializes those calls. Each call passes
/// its output to `emit`, in order; a batch handed to `process` is owned by the processor until
/// emitted (tokens included). A processor may keep tokens past `process` (it answers the client
/// later) or release them early once the data is durable in its own hold.
///
/// Reload contract: a processor whose settings did not change is kept, with everything it
/// holds; the old pipeline neither flushes nor shuts it down, and its held data leaves through
/// the new pipeline. A changed or removed processor is flushed by the old pipeline (everything
/// it holds goes on, early), unless it is a `HoldingProcessor` whose successor takes its data.
public protocol Processor: AnyObject {
    func start() throws
    func process(_ batch: TelemetryBatch, now: UInt64, emit: (TelemetryBatch) -> Void)
    /// The monotonic time (ns) at which `timerFired` must run next, or nil.
    var nextDeadline: UInt64? { get }
    func timerFired(now: UInt64, emit: (TelemetryBatch) -> Void)
    /// Emits everything held (shutdown, and a reload that removes or changes the processor).
    func flush(emit: (TelemetryBatch) -> Void)
    func shutdown()
    /// True when every span or record that enters leaves unchanged and nothing is refused or
    /// dropped (the `batch` processor: it only regroups requests). A pipeline whose processors
    /// all say so may feed its inline exporters (`Exporter.exportsInline`) at its entry, since
    /// they would see the same data after the processors. Defaults to false.
    var passesDataUnchanged: Bool { get }
}

extension Processor {
    public func start() throws {}
    public func shutdown() {}
    public var passesDataUnchanged: Bool { false }
}

/// A processor that holds data for longer than a batch timeout (tail sampling holds traces for
/// `decision_wait`) and can hand it to the instance that replaces it in a reload instead of
/// emitting it early.
///
/// Contract: `handOver(to:)` is called instead of `flush` on the replaced instance, after its
/// last `process`, with the successor already started; it returns false when `successor` cannot
/// take its data (another type), and the old instance is then flushed. On true, the successor
/// owns every held item with its tokens, and the old instance holds nothing.
public protocol HoldingProcessor: Processor {
    func handOver(to successor: any Processor, now: UInt64) -> Bool
}

/// A destination for batches.
///
/// Contract: `export` is called on one serial queue per exporter stage, one batch at a time
/// (an inline exporter also on receivers' threads, see `exportsInline`), and returns when the
/// batch is durably handled (written, queued on disk, or sent), or throws a `ComponentError`
/// whose retry meaning reaches the client. It does not release the batch's
/// tokens: the stage does. `start` returns quickly; `shutdown` is idempotent, safe without
/// `start`, and flushes what the exporter buffers.
public protocol Exporter: AnyObject, Sendable {
    func start() throws
    func export(_ batch: TelemetryBatch) throws(ComponentError)
    func shutdown()
    /// True when `export` may run on several stages' queues at once. An instance shared by
    /// several pipelines, or by the old and new pipelines of a reload, is otherwise called by
    /// one stage at a time. Defaults to false.
    var exportsConcurrently: Bool { get }
    /// True when `export` reads a batch's data as `payload` followed by `parts` (or does not
    /// read it): the pipeline then hands over batches the `batch` processor merged by
    /// reference without joining them (`TelemetryBatch.join`) first. Defaults to false: the
    /// exporter finds all the data in `payload`.
    var readsParts: Bool { get }
    /// True when `export` only aggregates in memory (the spanmetrics and servicegraph
    /// connectors): it never fails, never waits for anything but a short lock, runs
    /// concurrently (`exportsConcurrently`) and reads parts (`readsParts`). A pipeline whose
    /// processors all pass data unchanged (`Processor.passesDataUnchanged`) then calls it on the
    /// receiver's thread as each request enters, while the request's bytes are still in that
    /// core's cache, instead of queueing the batches for it (see `Pipeline`). Defaults to false.
    var exportsInline: Bool { get }
}

extension Exporter {
    public var exportsConcurrently: Bool { false }
    public var readsParts: Bool { false }
    public var exportsInline: Bool { false }
}

/// An exporter whose deliveries finish later (a network round trip to a gateway that itself
/// answers only once its exporters took the data): the stage hands it up to `maxInFlight`
/// batches at once instead of one at a time, and completes each batch's tokens when its
/// `completion` is called (exactly once, from any thread). `export(_:)` (the synchronous form)
/// is still used where one batch at a time is wanted.
public protocol AsyncExporter: Exporter {
    /// Batches out at once (`sending_queue.num_consumers`).
    var maxInFlight: Int { get }
    func export(_ batch: TelemetryBatch, completion: @escaping @Sendable (ComponentError?) -> Void)
}

/// Something that runs beside the pipelines (health_check, and later the query API).
/// Same lifecycle contract as receivers.
public protocol Extension: AnyObject, Sendable {
    func start() throws
    func shutdown(deadline: DispatchTime, completion: @escaping @Sendable () -> Void)
    /// Told when pipelines start running (`true`) and when they stop (`false`).
    func pipelinesChanged(running: Bool)
}

extension Extension {
    public func pipelinesChanged(running: Bool) {}
}
