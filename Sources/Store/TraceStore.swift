import Buffers
import Dispatch
import OTLPCodec
import Synchronization
import SystemIO

/// An on-disk store of spans and log records: append-only segment files of independently
/// decodable zstd blocks of OTLP requests, indexed by trace id (format in `StoreFormat`).
///
/// ## Design
/// - One serial writer: `append` (and rotation) run under the `writer` Mutex; the block is
///   compressed, written with `pwrite` at the end of the active segment, fsynced if
///   `sync: always`, and then committed to the active segment's in-memory index, which
///   publishes the new committed length. Rotation opens the next segment and hands the old
///   one to the maintenance queue to be sealed (index file written, then swapped in).
/// - The catalog (`[Segment]`, oldest first) is what queries read: a query copies it under
///   its Mutex (a snapshot) and then works without the lock. Segments are immutable objects
///   holding their open file; sealing replaces one in the catalog, retention removes it and
///   unlinks its files, and a query still holding it keeps reading through the open descriptor.
/// - The maintenance queue (serial) runs sealing, retention, and a timer that fsyncs the active
///   segment (`sync: interval`), rotates it when older than `segment_max_age`, and applies
///   retention by age. Retention by size is also triggered by appends that push the store
///   past `retention.max_bytes`.
/// - Lock order: `writer`, then `catalog` (never the reverse); an index's own Mutex is taken
///   last and never held while taking another lock.
///
/// ## Concurrency contract
/// - `append`, `flush`, `rotate` and `close` may be called from any thread; they are
///   serialized (one writer at a time).
/// - `trace`, `services`, `operations`, `search` and `statistics` may be called from any
///   number of threads at once, concurrently with appends, sealing, retention and `close`.
///   They see every block committed before they started (and maybe some committed since),
///   never part of a block; traces stored before the call started come back whole unless
///   retention deleted segments holding them.
/// - Files are read through `pread` and read-only mappings of index files; the store assumes
///   nothing else writes to its directory (a `LOCK` file keeps a second store out).
/// - After `close`, appends throw; queries keep working until the store is released.
public final class TraceStore: Sendable {
    public let config: StoreConfig
    let clock: @Sendable () -> UInt64
    let onEvent: @Sendable (StoreEvent) -> Void
    let writer: Mutex<Writer>
    let catalog: Mutex<[Segment]>
    let cache: BlockCache
    let maintenance = DispatchQueue(label: "collectord.store.maintenance")
    let timer: TimerSource
    let counters = StoreCounters()
    /// Bytes of all segments and indexes, kept up to date for the retention trigger.
    let totalBytes: Atomic<UInt64>
    let retentionScheduled = Atomic<Bool>(false)
    let reportedBlocks = Mutex<Set<BlockCache.Key>>([])
    /// Traces lately routed to hot blocks (`BlockLayout`), so that they stay hot across a
    /// segment rotation; bounded.
    let hotTraces = Mutex(RecentTraces(capacity: 4096))
    /// Buffers of blocks already written, reused by the next appends that rewrite their
    /// payload (`BlockLayout`); let go by the timer when none was taken or given since its last
    /// tick.
    let spareBuffers: PayloadPool
    /// A trace already in this many blocks of the active segment is hot.
    static let hotAfterBlocks = 2
    /// The directory lock (`DirectoryLock.store`), released by `close`.
    let directoryLock: Mutex<DirectoryLock?>

    /// The writer's state: the active segment and what appending to it needs.
    struct Writer {
        var segment: Segment
        var index: MemorySegmentIndex
        var offset: UInt64
        var compressor: ZstdCompressor
        var dirty = false
        var closed = false
    }

    /// Opens (creating if needed) the store in `config.directory` and recovers it (see
    /// "Recovery" in `StoreFormat`): what recovery cuts or skips is reported through `onEvent`.
    /// Unsealed older segments are sealed in the background.
    ///
    /// - Parameters:
    ///   - clock: wall-clock time in unix ns (segment creation and sealing times, rotation and
    ///     retention by age); injectable for tests.
    ///   - onEvent: receives every ``StoreEvent``; see there for threading.
    public init(
        config: StoreConfig,
        clock: @escaping @Sendable () -> UInt64 = TraceStore.wallClock,
        onEvent: @escaping @Sendable (StoreEvent) -> Void = { _ in }
    ) throws(StoreError) {
        let problems = config.validate()
        guard problems.isEmpty else { throw StoreError.invalidConfig(problems) }
        let recovered = try Recovery(directory: config.directory, clock: clock, onEvent: onEvent).run()
        self.config = config
        self.clock = clock
        self.onEvent = onEvent
        self.cache = BlockCache(capacity: config.cacheBytes)
        self.spareBuffers = PayloadPool(limit: 3, maxBytes: 2 * config.blockMaxBytes, idleRelease: false)
        let active = recovered.active
        guard let activeIndex = active.index as? MemorySegmentIndex else {
            preconditionFailure("the active segment has an in-memory index")
        }
        writer = Mutex(Writer(segment: active, index: activeIndex, offset: activeIndex.dataLength,
                              compressor: ZstdCompressor(level: config.compressionLevel)))
        catalog = Mutex(recovered.segments)
        directoryLock = Mutex(recovered.lock)
        totalBytes = Atomic(recovered.segments.reduce(0) { $0 + $1.bytes })
        timer = TimerSource(queue: maintenance)
        for segment in recovered.toSeal {
            maintenance.async { self.seal(segment) }
        }
        startTimer()
        maintenance.async { self.applyRetention() }
    }

    deinit {
        timer.source.cancel()
    }

    /// The default clock: `CLOCK_REALTIME` in unix ns.
    @Sendable public static func wallClock() -> UInt64 { Sys.wallClockNanos() }

    /// Stops appending: later appends throw. Waits for background sealing and retention to
    /// finish, fsyncs the active segment (unless `sync: none`) and releases the directory, so
    /// that another store may open it. Idempotent. Queries keep working. The active segment is
    /// not sealed: the next open rebuilds its index.
    public func close() {
        let file: SegmentFile? = writer.withLock { w in
            guard !w.closed else { return nil }
            w.closed = true
            return w.segment.file
        }
        guard let file else { return }
        timer.source.cancel()
        maintenance.sync {}
        if config.sync != .none {
            do throws(StoreError) {
                try file.sync()
                counters.fsyncs.add(1, ordering: .relaxed)
            } catch {
                emit(.failed(operation: "fsync at close", error: error.description))
            }
        }
        directoryLock.withLock { $0 = nil }
    }

    /// Waits until the sealing and retention queued so far are done.
    public func waitForMaintenance() {
        maintenance.sync {}
    }

    /// Runs one pass of the periodic maintenance now and waits for it: fsync when
    /// `sync: interval` and dirty, rotation by `segment_max_age`, retention.
    public func runMaintenance() {
        maintenance.sync { tick() }
    }

    /// The current segments, oldest first (a snapshot for one query).
    func snapshot() -> [Segment] {
        catalog.withLock { $0 }
    }

    func emit(_ kind: StoreEvent.Kind) {
        onEvent(StoreEvent(kind))
    }

    var directory: String { config.directory }

    func path(_ name: String) -> String { StoreFormat.join(directory, name) }
}

/// The maintenance timer.
///
/// `@unchecked Sendable`: a dispatch source is thread-safe (libdispatch allows `schedule`,
/// `resume` and `cancel` from any thread); Dispatch on Linux just does not declare it
/// `Sendable`. The reference itself never changes.
final class TimerSource: @unchecked Sendable {
    let source: any DispatchSourceTimer

    init(queue: DispatchQueue) {
        source = DispatchSource.makeTimerSource(queue: queue)
    }
}

/// Counters for self-metrics and tests.
final class StoreCounters: Sendable {
    let appendedBlocks = Atomic<UInt64>(0)
    let appendedItems = Atomic<UInt64>(0)
    let payloadBytes = Atomic<UInt64>(0)
    let storedBytes = Atomic<UInt64>(0)
    let fsyncs = Atomic<UInt64>(0)
    let corruptBlocks = Atomic<UInt64>(0)
    let deletedSegments = Atomic<UInt64>(0)
}
