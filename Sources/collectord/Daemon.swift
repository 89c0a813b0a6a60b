import CollectorCore
import CollectorService
import Transport
internal import CShims
import Dispatch
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import SystemIO

/// The running daemon: loads the config, starts the service, and turns signals into actions.
/// SIGHUP reloads (an invalid file is logged and the running config keeps going untouched);
/// SIGTERM/SIGINT shut down gracefully within `shutdownTimeout`, exiting 0 when everything
/// accepted was flushed and 1 when the deadline cut it short. A second SIGTERM/SIGINT exits at once.
final class Daemon: Sendable {
    let configPath: String
    let shutdownTimeout: UInt64
    let control = DispatchQueue(label: "collectord.control")
    let logger: Logger
    let service: Service
    private let stopping = Atomic<Bool>(false)

    init(configPath: String, shutdownTimeout: UInt64) {
        self.configPath = configPath
        self.shutdownTimeout = shutdownTimeout
        let err = StandardOutput(fd: 2)
        // Every logger the service hands out shares this sink, so `service.telemetry.logs.level`
        // applies everywhere at once, also when a reload changes it.
        logger = Logger(minimum: .debug) { level, message in
            guard level.rawValue >= Daemon.level.load(ordering: .relaxed) else { return }
            err.write("\(Daemon.timestamp())\t\(level)\t\(message)\n")
        }
        service = Service(logger: logger)
    }

    /// The minimum level written (`service.telemetry.logs.level`; info until a config is read).
    static let level = Atomic<Int>(LogLevel.info.rawValue)

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return RFC3339.format(nanoseconds: UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec))
    }

    /// Keeps glibc's heap small under load: few malloc arenas (Dispatch runs many threads,
    /// each of which would otherwise get its own), and request-sized buffers (hundreds of KiB)
    /// served by mmap so freeing them returns the memory at once. Setting the mmap threshold
    /// also fixes the trim threshold at glibc's 128 KiB: every free that leaves that much at
    /// the top of the heap gives it back, and the next allocations fault it in again (under
    /// load a third of the tail sampler's CPU). 4 MiB of free heap top is kept instead.
    /// Environment settings (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_) win.
    static func tuneAllocator() {
        let env = ProcessInfo.processInfo.environment
        _ = cshims_tune_malloc(env["MALLOC_ARENA_MAX"] == nil ? 2 : 0,
                               env["MALLOC_MMAP_THRESHOLD_"] == nil ? 256 * 1024 : 0,
                               env["MALLOC_TRIM_THRESHOLD_"] == nil ? 4 << 20 : 0)
    }

    /// Drops the code pages that starting (or reloading) faulted in from this process's resident
    /// set (`CodePages`); COLLECTORD_KEEP_CODE_PAGES=1 keeps them (for comparisons).
    static func releaseStartupCode(_ logger: Logger) {
        guard ProcessInfo.processInfo.environment["COLLECTORD_KEEP_CODE_PAGES"] != "1" else { return }
        let advised = CodePages.release()
        logger.debug("released the startup code pages of \(advised >> 20) MiB of code mappings")
    }

    /// Applies `service.limits` to the process-wide bounds; returns the descriptor limit.
    @discardableResult
    static func applyLimits(_ limits: ServiceLimits) -> Int {
        RequestBudget.shared.setLimit(limits.requestMemoryLimitMiB << 20)
        return ConnectionBudget.configure(maxConnections: limits.maxConnections)
    }

    func run() -> Never {
        Daemon.tuneAllocator()
        signal(SIGPIPE, SIG_IGN)
        let config: CollectorConfig
        do {
            config = try ConfigLoader.load(path: configPath)
            for warning in config.warnings { logger.warn("\(configPath): \(warning)") }
        } catch {
            logger.error("\(error)")
            exit(1)
        }
        let descriptors = Daemon.applyLimits(config.limits)
        do {
            Daemon.level.store(config.logLevel.rawValue, ordering: .relaxed)
            try control.sync { try service.apply(config) }
        } catch {
            logger.error("cannot start: \(error)")
            exit(1)
        }
        // Locals of a function that never returns: the sources live as long as the process.
        // Watched before "started" is logged: whoever waits for that line may signal at once
        // (a SIGHUP before its handler would end the process).
        let sources = [
            watch(SIGHUP) { self.reload() },
            watch(SIGTERM) { self.stop("SIGTERM") },
            watch(SIGINT) { self.stop("SIGINT") },
        ]
        logger.info("collectord started with \(configPath): \(config.pipelines.count) pipeline(s); "
                    + "\(descriptors) descriptors, at most \(ConnectionBudget.limit) client connections, "
                    + "\(config.limits.requestMemoryLimitMiB) MiB for requests in progress")
        Daemon.releaseStartupCode(logger)
        withExtendedLifetime(sources) { dispatchMain() }
    }

    private func watch(_ sig: Int32, _ action: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: control)
        source.setEventHandler(handler: action)
        source.resume()
        return source
    }

    private func reload() {
        guard !stopping.load(ordering: .relaxed) else { return }
        logger.info("SIGHUP: reloading \(configPath)")
        do {
            let config = try ConfigLoader.load(path: configPath)
            for warning in config.warnings { logger.warn("\(configPath): \(warning)") }
            try service.apply(config)
            Daemon.level.store(config.logLevel.rawValue, ordering: .relaxed)
            Daemon.applyLimits(config.limits)
            logger.info("configuration reloaded: \(config.pipelines.count) pipeline(s)")
            Daemon.releaseStartupCode(logger)
        } catch {
            logger.error("reload failed, keeping the running configuration: \(error)")
        }
    }

    private func stop(_ signalName: String) {
        if stopping.exchange(true, ordering: .relaxed) {
            logger.warn("\(signalName) again: exiting now")
            exit(1)
        }
        logger.info("\(signalName): shutting down (timeout \(Double(shutdownTimeout) / 1e9)s)")
        let deadline = DispatchTime.now() + .nanoseconds(Int(shutdownTimeout))
        let logger = self.logger
        service.shutdown(deadline: deadline) {
            logger.info("all accepted data flushed; exiting")
            exit(0)
        }
        control.asyncAfter(deadline: deadline + .milliseconds(500)) {
            logger.error("shutdown did not finish within the timeout; exiting with data possibly unflushed")
            exit(1)
        }
    }
}
