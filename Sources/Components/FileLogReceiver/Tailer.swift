import CollectorCore
import Patterns
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import SystemIO

/// The filelog receiver's engine. Confined to one serial queue: every method runs there.
///
/// Each `poll` (every `poll_interval`):
/// 1. Checks every open file for truncation: size below the read offset, or its first bytes no
///    longer starting with the stored fingerprint (copytruncate, or a rewrite). The old identity
///    (offsets, in-flight batches, held lines) becomes a *ghost*; the inode starts over at 0
///    under a new identity. (Before listing: copytruncate copies first, so the copy is listed.)
/// 2. Lists the include globs minus the excludes and stats every path. A path whose
///    device+inode is an open file is that file (a changed path is a rename rotation: it is
///    simply continued). Other paths are candidates.
/// 3. Opens the candidates. A candidate whose fingerprint starts with a ghost's is the copy made
///    by copytruncate: it adopts the ghost and is read from the ghost's offset, so the lines
///    written just before the truncation are not lost. After a start, candidates are matched
///    against the checkpoint until all its entries are, or for `rotateWait` (inode+fingerprint
///    first, then fingerprint alone; an inode whose bytes no longer match is a reused inode,
///    hence a new file). A candidate whose fingerprint is
///    a prefix of (or extends) an open file's is a duplicate (a copy in progress) and is skipped.
///    Anything else is new: read from its start, or from its end on a first-ever start with
///    `start_at: end`.
/// 4. Reads every open file to its end in 64 KiB chunks, splitting lines and assembling
///    records into batches of at most `maxBatchRecords`. After each read the file must still
///    start with its fingerprint; if not, it was truncated and refilled since the discovery, the
///    bytes are dropped and a discovery runs (reading on at the old offset would take the new
///    content for the rest of the old). A file no glob leads to any more
///    (renamed away, deleted) is read from its descriptor until it has been idle for
///    `rotateWait`, then closed.
/// 5. Batches go through the outbox: when the consumer refuses one (pipeline full), it stays
///    there and nothing more is read until it is taken (backpressure, nothing dropped). A batch
///    taken and then failed with a retryable error (the memory limiter, an exporter) is sent
///    again after a growing delay (`resendLater`).
///    Acknowledgements advance `committed`, and the checkpoint file is rewritten.
/// 6. Memory: at most `maxInFlightBytes` of payload is sent and unacknowledged (each batch's
///    payload is kept until then, to send it again after a retryable failure). Reading stops
///    at the bound and the acknowledgement that makes room resumes it at once, so a fast
///    pipeline is never left waiting for the next poll.
final class Tailer {
    let name: String
    let settings: FileLogSettings
    let logger: Logger
    let metrics: FileLogMetrics
    let checkpointPath: String
    let checkpointWriter: CheckpointWriter
    let lineStart: Pattern?
    let lineEnd: Pattern?
    /// The `json_parser` operator, when configured.
    let jsonParser: JSONParser?
    var consumer: (any Consumer)?
    /// Set by the receiver right after init; used to route acknowledgements back to the queue.
    weak var box: QueueConfined<Tailer>?

    var files: [Int: TailedFile] = [:]
    var nextID = 1
    var nextSequence: UInt64 = 1
    var outbox: [Outgoing] = []
    var firstPoll = true
    var hadCheckpoint = false
    /// Checkpoint entries not matched to a file yet. Matching goes on for `rotateWait` after the
    /// first poll, not just during it: a file being renamed while the first listing runs (a
    /// rotation at the moment of a restart) is only found by a later poll, and must resume at
    /// its offset rather than be read again from its start.
    var restored: [Checkpoint.Entry] = []
    var restoredUntil: UInt64?
    var reported: Set<String> = []
    var checkpointDirty = false
    var checkpointScheduled = false
    /// `stopAccepting`/shutdown: no more reading, acknowledgements still processed.
    var reading = true
    /// Shut down or crashed: nothing touches the disk any more.
    var closed = false
    /// The polling timer (on the tailer's queue).
    var timer: (any DispatchSourceTimer)?
    var readBuffer = [UInt8](repeating: 0, count: 65_536)
    /// Where records are encoded; reused by every batch.
    let scratch = ScratchBuffer()
    /// Payload bytes sent and not yet acknowledged (bounded by `maxInFlightBytes`).
    var inFlightBytes = 0
    /// Reading stopped because `inFlightBytes` reached the bound; an acknowledgement resumes it.
    var throttled = false
    /// Extra in-flight bytes allowed while acknowledgements stall (see `scheduleStallCheck`).
    var overdraft = 0
    /// When the overdraft was last granted (monotonic ns); it is kept for `overdraftHoldNanos`.
    var overdraftGrantedAt: UInt64 = 0
    /// How long a granted overdraft stays once in-flight bytes are back under the bound: a
    /// pipeline whose batches need it (records larger once parsed than the bound's 4 MiB holds
    /// for a full `send_batch_size`) would otherwise stall 100 ms before every batch.
    static let overdraftHoldNanos: UInt64 = 10_000_000_000
    var stallCheckScheduled = false
    /// Acknowledgements processed so far (a stall is a period without any).
    var acknowledgements: UInt64 = 0
    var resumeScheduled = false
    /// The file that had the last reading turn (see `readAll`).
    var lastTurn: Int?
    /// A refused batch will be offered again (`retryRefused`), after `refusalDelay` ns.
    var refusalScheduled = false
    var refusalDelay: UInt64 = 0
    /// Batches whose delivery failed with a retryable error, sent again after `resendDelay` ns
    /// (see `resendLater`).
    var resends: [Resend] = []
    var resendScheduled = false
    var resendDelay: UInt64 = 0
    /// inotify (nil: unavailable, polling only); see `DirectoryWatcher`.
    var watcher: DirectoryWatcher?
    var eventReadScheduled = false
    var eventDiscover = false
    /// The last discovery skipped an empty file: its first write must trigger a discovery.
    var emptyCandidates = false

    struct Outgoing {
        var fileID: Int
        var batch: TelemetryBatch
        /// Refused at least once (counted in the refused metric once).
        var refused = false
    }

    struct Resend {
        var fileID: Int
        var sequence: UInt64
        var payload: [UInt8]
        var count: Int
        var path: String
    }

    init(name: String, settings: FileLogSettings, logger: Logger, metrics: FileLogMetrics) throws {
        self.name = name
        self.settings = settings
        self.logger = logger
        self.metrics = metrics
        let safeName = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
        let checkpointPath = settings.storage + "/" + safeName + ".checkpoint.json"
        self.checkpointPath = checkpointPath
        self.checkpointWriter = CheckpointWriter(path: checkpointPath, label: "collectord.filelog.\(name).checkpoint") { error in
            metrics.readErrors.increment()
            logger.error("cannot write checkpoint \(checkpointPath): \(error)")
        }
        self.lineStart = try settings.lineStartPattern.map { try Pattern($0) }
        self.lineEnd = try settings.lineEndPattern.map { try Pattern($0) }
        var fileAttributeKeys: [String] = []
        if settings.includeFileName { fileAttributeKeys.append("log.file.name") }
        if settings.includeFilePath { fileAttributeKeys.append("log.file.path") }
        if settings.includeFileNameResolved { fileAttributeKeys.append("log.file.name_resolved") }
        if settings.includeFilePathResolved { fileAttributeKeys.append("log.file.path_resolved") }
        self.jsonParser = settings.jsonParser.map {
            JSONParser(settings: $0, parseJSON: settings.parseJSON, fileAttributeKeys: fileAttributeKeys)
        }
    }

    /// Creates the storage directory and loads the checkpoint.
    func load() throws {
        try Sys.makeDirectories(settings.storage)
        // Temporary files left by a process that died mid-write (not this process's: a
        // predecessor in this process may still be finishing its last write).
        AtomicFile.removeLeftovers(of: checkpointPath)
        guard let bytes = try Sys.readFile(checkpointPath) else { return }
        hadCheckpoint = true
        if let checkpoint = Checkpoint.decode(bytes) {
            restored = checkpoint.entries
            logger.info("resuming \(restored.count) files from \(checkpointPath)")
        } else {
            logger.error("ignoring unreadable checkpoint \(checkpointPath); files are read from their beginning")
        }
    }

    /// Logs `message` and counts a read error, once per `key` (until the file opens again).
    func reportOnce(_ key: String, _ message: String) {
        guard reported.insert(key).inserted else { return }
        metrics.readErrors.increment()
        logger.error(message)
    }

    func makeFile(fd: Int32, path: String, info: FileStatus, fingerprint: [UInt8], offset: Int64, now: UInt64) -> TailedFile {
        defer { nextID += 1 }
        let mode: RecordAssembler.Mode
        switch settings.format {
        case .cri: mode = .cri
        case .docker: mode = .docker
        case .auto: mode = .auto
        case .none: mode = lineStart.map { .multiline($0) } ?? lineEnd.map { .multilineEnd($0) } ?? .plain
        }
        return TailedFile(id: nextID, fd: fd, path: path, device: info.device, inode: info.inode, fingerprint: fingerprint,
                          readOffset: offset, committed: offset, splitter: LineSplitter(maxSize: settings.maxLogSize),
                          assembler: RecordAssembler(mode: mode, maxSize: settings.maxLogSize), lastDataAt: now,
                          resourceAttributes: settings.kubernetesMetadata ? KubernetesPath.attributes(path) : [])
    }

    /// One polling round (see the type's doc).
    func poll() {
        guard !closed else { return }
        let now = Sys.monotonicNanos()
        drainOutbox()
        if reading {
            discover(now: now)
            watchDirectories()
            readAll(now: now)
            firstPoll = false
            if !restored.isEmpty {
                let until = restoredUntil ?? now &+ settings.rotateWait
                restoredUntil = until
                if now >= until {
                    logger.info("\(restored.count) checkpointed files were not found again; forgetting them")
                    restored = []
                    checkpointDirty = true
                }
            }
        }
        retireFinished(now: now)
        metrics.filesWatched.set(files.values.filter(\.isOpen).count)
        if checkpointDirty || checkpointWriter.lastWriteFailed { writeCheckpoint() }
    }

    /// Starts inotify on the directories of the include patterns (polling alone if unavailable).
    func startWatching(queue: DispatchQueue) {
        guard let box else { return }
        watcher = DirectoryWatcher(patterns: settings.include, queue: queue) { box.onQueue.watcherReadable() }
        guard watcher != nil else {
            logger.info("inotify is unavailable; files are polled every \(settings.pollInterval / 1_000_000) ms")
            return
        }
        for pattern in settings.include { watch(DirectoryWatcher.staticDirectory(pattern)) }
    }

    /// Adds the directories of the files found to the inotify watches.
    func watchDirectories() {
        guard watcher != nil else { return }
        for f in files.values where f.isOpen { watch(String(Self.directory(f.path))) }
    }

    private func watch(_ directory: String) {
        if let problem = watcher?.add(directory) { logger.warn(problem) }
    }

    /// inotify reported events: reads within a few milliseconds (a poll when files appeared,
    /// moved or vanished). Events are coalesced, so a busy file is read at most every 5 ms.
    func watcherReadable() {
        guard !closed, let watcher, let box else { return }
        let events = watcher.drain()
        guard events.modified || events.structural else { return }
        eventDiscover = eventDiscover || events.structural || emptyCandidates
        guard !eventReadScheduled else { return }
        eventReadScheduled = true
        box.queue.asyncAfter(deadline: DispatchTime.now() + DispatchTimeInterval.milliseconds(5)) {
            let t = box.onQueue
            t.eventReadScheduled = false
            guard !t.closed, t.reading else { return }
            if t.eventDiscover {
                t.eventDiscover = false
                t.poll()
            } else {
                t.drainOutbox()
                t.readAll(now: Sys.monotonicNanos())
            }
        }
    }

    /// The include globs minus the excludes, sorted, without duplicates.
    func listPaths() -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        for pattern in settings.include {
            for path in PathGlob.glob(pattern) where !settings.exclude.contains(where: { PathGlob.matches($0, path) }) {
                if seen.insert(path).inserted { out.append(path) }
            }
        }
        return out.sorted()
    }
}
