import Dispatch
import Synchronization

/// One `service.pipelines` entry at run time: an input ring, the processors in order on one
/// serial queue, and a fan-out into one `ExporterStage` per exporter.
///
/// Design:
/// - Receivers call `entry.consume`, which pushes into the bounded input ring and schedules a
///   drain; a full ring throws a retryable error at once (the receiver answers UNAVAILABLE/503).
/// - `drain` runs on `queue`: it pops batches, runs them through the processors, and offers
///   every output to each exporter ring. When an exporter ring is full the output is *held*
///   (with the exporters still owed a copy) and the drain stops popping input, so the input
///   ring fills up and receivers push back: backpressure instead of drops. The exporter stage
///   wakes the pipeline when it frees a slot.
/// - A batch going to N exporters gets N-1 extra references on its tokens, so each exporter
///   acknowledges its own copy.
/// - Inline exporters (`Exporter.exportsInline`: in-memory aggregations such as spanmetrics)
///   of a pipeline whose processors all pass data unchanged (`batch`) are called by `offer`
///   itself, on the receiver's thread, right after the request is pushed: its bytes were just
///   validated there and are still in that core's cache, where a batch reaching an exporter's
///   queue later, megabytes on, is not. They see exactly what the fan-out would have handed
///   them, once: such batches carry `fedInline` and the fan-out leaves those exporters out
///   (a batch merged with data that was not fed, or one a processor made anew, still goes to
///   them through their queue). A refused push feeds nothing, so a client's retry is not
///   counted twice. The tap holds a token reference of its own, so the client is answered, and
///   a stopping receiver done, only after the inline exporters have read the request (with
///   their error, if one failed). `shutdown` waits for the offers under way (`offering`)
///   before it flushes and finishes the exporters, so no inline export runs after its
///   exporter's final flush. A reload does not keep a `batch` of such a pipeline (see the
///   service), since one batch cannot mix data the old exporters read with data they did not.
/// - Processor deadlines (the batch timeout) are served by one Dispatch timer on `queue`.
/// - `shutdown` stops accepting, drains the input, flushes the processors, waits for the held
///   outputs to be taken and the exporters to finish, then completes. Nothing accepted is lost.
///
/// `@unchecked Sendable`: the mutable state below (`held`, `timer`, `stopping`...) is only
/// touched on `queue`; the fields shared across threads are atomics or immutable.
public final class Pipeline: @unchecked Sendable {
    public let name: String
    public let signal: Signal
    public let exporters: [ExporterStage]
    private let input: BoundedRing<TelemetryBatch>
    private let queue: DispatchQueue
    private let processors: [any Processor]
    private let clock: any MonotonicClock
    private let logger: Logger
    private let metrics: MetricsRegistry
    private let accepting = Atomic<Bool>(true)
    private let scheduled = Atomic<Bool>(false)
    private let waitingForSpace = Atomic<Bool>(false)
    private let gaugeIDs: [UInt64]
    /// Every exporter reads a batch's parts: its output needs no `join`.
    private let exportersReadParts: Bool
    /// The stages `offer` feeds on the receiver's thread (empty: none, every batch is queued).
    private let inlineStages: [ExporterStage]
    /// Indexes of the stages a batch is queued for: all of them, or those not fed inline.
    private let queuedStages: [Int]
    private let queuedStagesWhenFedInline: [Int]
    /// Calls of `offer` under way: a stopping drain waits for them (the last one reschedules it).
    private let offering = Atomic<Int>(0)

    // Confined to `queue`.
    private var held: [(batch: TelemetryBatch, owed: [Int])] = []
    private var timer: (any DispatchSourceTimer)?
    private var timerDeadline: UInt64?
    private var stopping: (@Sendable () -> Void)?
    private var flushed = false
    /// What a reload decided for each processor, by identity (see `shutdown`).
    private var successors = ProcessorSuccessors()

    public init(name: String, signal: Signal, processors: [any Processor], exporters: [ExporterStage],
                capacity: Int, clock: any MonotonicClock = SystemClock(), metrics: MetricsRegistry,
                logger: Logger) {
        self.name = name
        self.signal = signal
        self.processors = processors
        self.exporters = exporters
        self.exportersReadParts = exporters.allSatisfy { $0.exporter.readsParts }
        let inline = processors.allSatisfy(\.passesDataUnchanged)
            ? exporters.indices.filter { exporters[$0].exporter.exportsInline && exporters[$0].exporter.exportsConcurrently } : []
        self.inlineStages = inline.map { exporters[$0] }
        self.queuedStages = Array(exporters.indices)
        self.queuedStagesWhenFedInline = exporters.indices.filter { !inline.contains($0) }
        self.input = BoundedRing(capacity: capacity)
        self.queue = DispatchQueue(label: "pipeline.\(name)")
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
        let ring = input
        let labels = [("pipeline", name)]
        let inlineCount = Double(inline.count)
        gaugeIDs = [
            metrics.callback("collectord_pipeline_ring_size", help: "Batches waiting in the pipeline's input ring.",
                             labels: labels) { Double(ring.count) },
            metrics.callback("collectord_pipeline_ring_capacity", help: "Capacity of the pipeline's input ring (batches).",
                             labels: labels) { Double(ring.capacity) },
            metrics.callback("collectord_pipeline_inline_exporters",
                             help: "Exporters (connectors) the pipeline feeds on the receivers' threads as requests enter.",
                             labels: labels) { inlineCount },
        ]
    }

    /// Runs a drain soon (which re-arms the processors' timer).
    public func wake() { schedule() }

    /// Whether requests are read by inline exporters as they enter (see the design note).
    public var feedsInline: Bool { !inlineStages.isEmpty }

    /// What receivers hand batches to.
    public var entry: any Consumer { Entry(pipeline: self) }

    private struct Entry: Consumer {
        let pipeline: Pipeline
        func consume(_ batch: TelemetryBatch) throws(ComponentError) { try pipeline.offer(batch) }
    }

    /// Starts the exporters (throws the first start error), then arms the processors' timer:
    /// a processor may hold data from the start (a replayed tail-sampling hold, or a processor
    /// kept from the previous config) with no batch coming to wake the pipeline.
    public func start() throws {
        for stage in exporters {
            try stage.exporter.start()
            stage.setSpaceHandler { [weak self] in
                guard let self, self.waitingForSpace.load(ordering: .acquiring) else { return }
                self.schedule()
            }
        }
        schedule()
    }

    func offer(_ batch: TelemetryBatch) throws(ComponentError) {
        offering.add(1, ordering: .acquiringAndReleasing)
        defer {
            let (_, left) = offering.subtract(1, ordering: .acquiringAndReleasing)
            if left == 0 && !accepting.load(ordering: .acquiring) { schedule() }
        }
        guard accepting.load(ordering: .acquiring) else {
            throw .retryable("pipeline \(name) is shutting down")
        }
        var batch = batch
        batch.fedInline = feedsInline
        if batch.fedInline { batch.retainTokens(copies: 1) }   // the tap's own reference
        guard input.push(batch) else {
            if batch.fedInline { batch.complete() }
            throw .retryable("pipeline \(name) is full (\(input.capacity) batches queued); retry later")
        }
        schedule()
        guard batch.fedInline else { return }
        var failure: ComponentError?
        for stage in inlineStages {
            if let error = stage.exportInline(batch), failure == nil { failure = error }
        }
        batch.complete(failure)
    }

    private func schedule() {
        if scheduled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            queue.async { self.drain() }
        }
    }

    private func drain() {
        scheduled.store(false, ordering: .releasing)
        while true {
            guard deliverHeld() else { break }
            if let batch = input.pop() {
                run(batch, from: 0)
                continue
            }
            if let done = stopping {
                // An offer under way may still push, or export inline: its end drains again.
                guard offering.load(ordering: .acquiring) == 0 else { break }
                if !flushed {
                    flushed = true
                    flushProcessors()
                    continue
                }
                stopping = nil
                finishExporters(done)
            }
            break
        }
        armTimer()
    }

    /// Runs `batch` through processors[index...], then fans the output out. A batch merged by
    /// reference is joined here, once, before a processor or exporters that need it whole.
    private func run(_ batch: TelemetryBatch, from index: Int) {
        var batch = batch
        if !batch.parts.isEmpty, index < processors.count || !exportersReadParts { batch.join() }
        guard index < processors.count else { return fanOut(batch) }
        processors[index].process(batch, now: clock.now()) { out in run(out, from: index + 1) }
    }

    private func fanOut(_ batch: TelemetryBatch) {
        let stages = batch.fedInline ? queuedStagesWhenFedInline : queuedStages
        guard !stages.isEmpty else { return batch.complete() }
        batch.retainTokens(copies: stages.count - 1)
        let owed = stages.filter { !exporters[$0].offer(batch) }
        if !owed.isEmpty { held.append((batch, owed)) }
    }

    /// Offers held outputs again; true when nothing is held any more.
    private func deliverHeld() -> Bool {
        waitingForSpace.store(true, ordering: .releasing)
        while let first = held.first {
            let owed = first.owed.filter { !exporters[$0].offer(first.batch) }
            if owed.isEmpty {
                held.removeFirst()
            } else {
                held[0].owed = owed
                return false
            }
        }
        waitingForSpace.store(false, ordering: .releasing)
        return true
    }

    /// Flushes the processors at shutdown, except those the next config keeps (their data
    /// leaves through the new pipeline) and those whose successor takes their data.
    private func flushProcessors() {
        let now = clock.now()
        for (i, p) in processors.enumerated() {
            let id = ObjectIdentifier(p)
            if successors.kept.contains(id) { continue }
            if let next = successors.replacements[id], let holding = p as? any HoldingProcessor,
               holding.handOver(to: next.processor, now: now) {
                logger.info("processor \(i) handed what it holds to its successor")
                next.wake()   // its pipeline re-arms its timer for the data it now holds
                continue
            }
            p.flush { out in run(out, from: i + 1) }
        }
    }

    private func armTimer() {
        // While output is held for a full exporter ring, timers could only re-hold; the
        // exporter's wake-up drains and re-arms. (Arming here would spin on a past deadline.)
        let deadline = held.isEmpty ? processors.compactMap(\.nextDeadline).min() : nil
        guard deadline != timerDeadline else { return }
        timerDeadline = deadline
        timer?.cancel()
        timer = nil
        guard let deadline else { return }
        let t = DispatchSource.makeTimerSource(queue: queue)
        let delay = deadline > clock.now() ? deadline - clock.now() : 0
        t.schedule(deadline: .now() + .nanoseconds(Int(min(delay, UInt64(Int.max)))))
        t.setEventHandler { [weak self] in self?.timerFired() }
        t.resume()
        timer = t
    }

    private func timerFired() {
        timerDeadline = nil
        timer = nil
        if held.isEmpty {
            let now = clock.now()
            for (i, p) in processors.enumerated() where (p.nextDeadline ?? .max) <= now {
                p.timerFired(now: now) { out in run(out, from: i + 1) }
            }
        }
        drain()
    }

    /// Test hook and reload helper: runs processor timers as if `now` had been reached.
    public func runTimers() {
        queue.sync { timerFired() }
    }

    /// Stops accepting, then drains, flushes and finishes every exporter. Idempotent; the
    /// completion of the first call runs once everything accepted has been exported.
    ///
    /// `successors` (a reload) names the processors the new pipelines keep, which are neither
    /// flushed nor shut down here, and the replacements that take over a `HoldingProcessor`'s
    /// data instead of it being flushed.
    public func shutdown(successors: ProcessorSuccessors = ProcessorSuccessors(), completion: @escaping @Sendable () -> Void) {
        guard accepting.exchange(false, ordering: .acquiringAndReleasing) else {
            queue.async { completion() }
            return
        }
        queue.async {
            self.successors = successors
            self.stopping = completion
            self.drain()
        }
    }

    private func finishExporters(_ done: @escaping @Sendable () -> Void) {
        timer?.cancel()
        timer = nil
        let group = DispatchGroup()
        for stage in exporters {
            group.enter()
            stage.finish { group.leave() }
        }
        let metrics = self.metrics
        let name = self.name
        let ids = gaugeIDs
        let exporters = self.exporters
        for p in processors where !successors.kept.contains(ObjectIdentifier(p)) { p.shutdown() }
        group.notify(queue: queue) {
            metrics.removeCallback("collectord_pipeline_ring_size", labels: [("pipeline", name)], id: ids[0])
            metrics.removeCallback("collectord_pipeline_ring_capacity", labels: [("pipeline", name)], id: ids[1])
            metrics.removeCallback("collectord_pipeline_inline_exporters", labels: [("pipeline", name)], id: ids[2])
            for stage in exporters { stage.removeMetrics(metrics) }
            done()
        }
    }
}

/// What a reload does with an old pipeline's processors (by identity): kept ones run on in a
/// new pipeline; replaced holding processors hand their data to the new instance.
///
/// `@unchecked Sendable`: the processors are only called through `SerializedProcessor`'s lock
/// (the service wraps every processor it builds).
public struct ProcessorSuccessors: @unchecked Sendable {
    public var kept: Set<ObjectIdentifier> = []
    public var replacements: [ObjectIdentifier: (processor: any Processor, wake: @Sendable () -> Void)] = [:]
    public init() {}
}
