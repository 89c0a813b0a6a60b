import Synchronization

/// One bound on the bytes that requests hold while they are still arriving, shared by every
/// listener of a process (``shared``), so that no mix of clients (400 half-sent gRPC streams on
/// one connection, 25 HTTP/1.1 bodies stopped one byte short) can make the process hold more.
///
/// What is counted: the body bytes of requests not yet complete (an HTTP/1.1 body or chunk in
/// progress, the DATA of an HTTP/2 stream before END_STREAM), as they arrive; never a declared
/// `content-length`. A complete request is handed to its handler and its bytes are released;
/// handlers that expand a request (decompression, decoding) check the expanded footprint
/// against the same budget with ``reserve(_:current:)`` / ``release(_:)`` while they work.
///
/// Policy: a reservation that would take the total past ``limit`` fails (and is counted); the
/// caller refuses that request with a retryable status (HTTP 503 + Retry-After, gRPC
/// UNAVAILABLE) and drops its bytes. Small requests (at most ``smallRequestBytes`` in all) may
/// use a headroom of an eighth of the limit above it, so that a legitimate client's ordinary
/// requests are still served while large half-sent bodies have taken the rest.
///
/// Unbounded until ``setLimit(_:)``: the daemon sets its configured bound at start; library
/// users (tests running many servers in one process) give servers their own budget or none.
/// Thread-safe: atomics only.
public final class RequestBudget: Sendable {
    /// The process-wide budget every server uses unless given another.
    public static let shared = RequestBudget()

    /// Requests no larger than this may use the headroom above the limit.
    public static let smallRequestBytes = 256 * 1024

    private let held = Atomic<Int>(0)
    private let bound = Atomic<Int>(Int.max)
    private let refusedCount = Atomic<Int>(0)

    public init(limit: Int = .max) {
        bound.store(limit, ordering: .relaxed)
    }

    /// Changes the bound for reservations from now on (what is held stays held).
    public func setLimit(_ bytes: Int) { bound.store(max(0, bytes), ordering: .relaxed) }

    /// The bound in bytes (`Int.max`: unbounded).
    public var limit: Int { bound.load(ordering: .relaxed) }
    /// Bytes reserved now.
    public var heldBytes: Int { held.load(ordering: .relaxed) }
    /// Requests refused as busy since the process started: by this budget, or by a
    /// connection's share of it (``countRefusal()``).
    public var refused: Int { refusedCount.load(ordering: .relaxed) }

    /// Counts a request refused as busy by a bound other than the budget's own (a
    /// connection's share), so that every busy refusal shows in one count.
    public func countRefusal() { refusedCount.add(1, ordering: .relaxed) }

    /// Takes `bytes` more for a request that already holds `current`; false (and counted) when
    /// that would pass the bound, in which case nothing is taken.
    public func reserve(_ bytes: Int, current: Int) -> Bool {
        guard bytes > 0 else { return true }
        let limit = bound.load(ordering: .relaxed)
        if limit == .max {
            held.add(bytes, ordering: .relaxed)
            return true
        }
        let allowed = current + bytes <= Self.smallRequestBytes ? limit + limit / 8 : limit
        let now = held.add(bytes, ordering: .relaxed).newValue
        if now > allowed {
            held.subtract(bytes, ordering: .relaxed)
            refusedCount.add(1, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Gives back `bytes` taken with ``reserve(_:current:)``.
    public func release(_ bytes: Int) {
        if bytes > 0 { held.subtract(bytes, ordering: .relaxed) }
    }
}

/// The bytes one request (or one connection's requests) has reserved from a ``RequestBudget``.
/// A value owned by one session on its connection queue; it must be brought back to zero with
/// ``release(to:)`` when the bytes are handed on or dropped.
struct BudgetHold {
    private(set) var bytes = 0

    /// Grows the reservation to `total` bytes; false when the budget refused (nothing taken).
    mutating func grow(to total: Int, in budget: RequestBudget) -> Bool {
        guard total > bytes else { return true }
        guard budget.reserve(total - bytes, current: bytes) else { return false }
        bytes = total
        return true
    }

    /// Gives back what is held beyond `total` bytes.
    mutating func shrink(to total: Int, in budget: RequestBudget) {
        guard total < bytes else { return }
        budget.release(bytes - max(0, total))
        bytes = max(0, total)
    }

    /// Gives everything back.
    mutating func release(to budget: RequestBudget) {
        budget.release(bytes)
        bytes = 0
    }
}
