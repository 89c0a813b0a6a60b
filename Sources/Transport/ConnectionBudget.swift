import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One process-wide bound on client connections, kept below the descriptor limit so that
/// files, the store, exporters' sockets and libdispatch (which aborts the process when it
/// cannot open `/proc/<tid>/stat`) always have descriptors left. A connection accepted over
/// the bound is closed at once and counted; the listener keeps accepting, so a flood of idle
/// connections costs its own connections, never the process.
///
/// `configure()` (at daemon start) raises the soft `RLIMIT_NOFILE` to the hard limit and sets
/// the bound to the soft limit minus a reserve (a quarter of it, at least 64). Without it
/// there is no bound.
public enum ConnectionBudget {
    private static let open = Atomic<Int>(0)
    private static let refusedCount = Atomic<Int>(0)
    /// Unbounded until `configure()`: the bound is the daemon's policy, not the library's (a
    /// test process running many servers at once must not share one).
    private static let bound = Atomic<Int>(Int.max)

    /// Raises the soft descriptor limit to the hard one and sizes the bound from it; returns
    /// the (soft) descriptor limit now in force.
    /// `maxConnections` (config) lowers the bound; it never raises it past the reserve.
    @discardableResult
    public static func configure(maxConnections: Int? = nil) -> Int {
        var limits = rlimit()
        if getrlimit(RLIMIT_NOFILE_VALUE, &limits) == 0, limits.rlim_cur < limits.rlim_max {
            limits.rlim_cur = limits.rlim_max
            _ = setrlimit(RLIMIT_NOFILE_VALUE, &limits)
        }
        let soft = currentSoftLimit()
        bound.store(min(limit(forDescriptors: soft), maxConnections ?? .max), ordering: .relaxed)
        return soft
    }

    /// The connection bound for a descriptor limit of `descriptors`.
    static func limit(forDescriptors descriptors: Int) -> Int {
        let reserve = max(64, descriptors / 4)
        return max(8, descriptors - reserve)
    }

    public static var limit: Int { bound.load(ordering: .relaxed) }
    public static var openConnections: Int { open.load(ordering: .relaxed) }
    /// Connections closed at once because the bound was reached, since the process started.
    public static var refused: Int { refusedCount.load(ordering: .relaxed) }

    /// Takes a slot for a new connection; false (and counted) when none is left.
    static func take() -> Bool {
        let now = open.add(1, ordering: .relaxed).newValue
        if now > bound.load(ordering: .relaxed) {
            open.subtract(1, ordering: .relaxed)
            refusedCount.add(1, ordering: .relaxed)
            return false
        }
        return true
    }

    static func release() { open.subtract(1, ordering: .relaxed) }

    private static func currentSoftLimit() -> Int {
        var limits = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limits) == 0 else { return 1024 }
        return limits.rlim_cur >= rlim_t(1 << 30) ? 1 << 20 : Int(limits.rlim_cur)
    }

    private static var RLIMIT_NOFILE_VALUE: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_NOFILE.rawValue) }
}

/// A process-wide event count (connections closed by a timeout), read by the self-metrics.
public final class TransportCounter: Sendable {
    private let value = Atomic<Int>(0)
    init() {}
    func increment() { value.add(1, ordering: .relaxed) }
    public var count: Int { value.load(ordering: .relaxed) }
}

/// The transport's process-wide counts, for the self-metrics.
public enum TransportStats {
    public static var idleTimeouts: Int { Connection.idleTimeouts.count }
    public static var requestReadTimeouts: Int { Connection.requestReadTimeouts.count }
    /// TLS handshakes that failed (a TLS error, or not complete within the header-read timeout).
    public static var tlsHandshakeFailures: Int { Connection.tlsHandshakeFailures.count }
    /// Certificate reloads that failed (the previous certificates stayed in use).
    public static var tlsReloadFailures: Int { TLSServerContext.reloadFailures.count }
}
