import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How much one query may read before it answers with what it has: a deadline, a bound on
/// blocks read, and cancellation (the client went away, the process is shutting down).
///
/// Readers (`trace`, `search`) ask ``admit()`` before each block they read and now and then
/// while they walk indexes; once it says no they stop and return what they found so far, and
/// ``stop`` says why, so the caller can mark the answer partial. The first reason sticks.
///
/// Thread-safe (atomics only): a query's thread reads it while a connection queue or a
/// shutdown cancels it.
public final class ReadBudget: Sendable {
    public enum Stop: Int, Sendable, CustomStringConvertible {
        case deadline = 1
        case blocks = 2
        case cancelled = 3

        public var description: String {
            switch self {
            case .deadline: "the query deadline passed"
            case .blocks: "the bound on blocks read was reached"
            case .cancelled: "the query was cancelled"
            }
        }
    }

    private let deadline: UInt64
    private let maxBlocks: Int
    private let clock: @Sendable () -> UInt64
    private let cancelledProbe: (@Sendable () -> Bool)?
    private let read = Atomic<Int>(0)
    private let stopped = Atomic<Int>(0)
    private let notes = Mutex<[String]>([])

    /// - Parameters:
    ///   - deadline: monotonic nanoseconds (`clock`'s) after which nothing more is read.
    ///   - maxBlocks: blocks a query may read.
    ///   - clock: monotonic nanoseconds (injected by tests).
    ///   - cancelled: polled with every admission; true cancels.
    public init(deadline: UInt64 = .max, maxBlocks: Int = .max,
                clock: @escaping @Sendable () -> UInt64 = ReadBudget.monotonicNow,
                cancelled: (@Sendable () -> Bool)? = nil) {
        self.deadline = deadline
        self.maxBlocks = maxBlocks
        self.clock = clock
        self.cancelledProbe = cancelled
    }

    /// A budget with no bound (tools and tests).
    public static var unlimited: ReadBudget { ReadBudget() }

    /// Why reading stopped early, if it did.
    public var stop: Stop? { Stop(rawValue: stopped.load(ordering: .relaxed)) }

    /// Blocks admitted so far.
    public var blocksRead: Int { read.load(ordering: .relaxed) }

    /// Records that the answer lacks something for a reason other than this budget (a peer
    /// that did not answer); the query goes on.
    public func notePartial(_ why: String) { notes.withLock { $0.append(why) } }

    /// Why the answer may be partial: the budget's stop and every note; nil when complete.
    public var partialReason: String? {
        let all = (stop.map { ["\($0)"] } ?? []) + notes.withLock { $0 }
        return all.isEmpty ? nil : all.joined(separator: "; ")
    }

    /// Stops the query at its next admission.
    public func cancel() { record(.cancelled) }

    /// Whether the query may go on (checks deadline and cancellation, reads nothing).
    public func mayContinue() -> Bool {
        if stopped.load(ordering: .relaxed) != 0 { return false }
        if let cancelledProbe, cancelledProbe() { return record(.cancelled) }
        if deadline != .max && clock() >= deadline { return record(.deadline) }
        return true
    }

    /// Counts one block about to be read; false (and why, in ``stop``) when the query must stop.
    public func admit() -> Bool {
        guard mayContinue() else { return false }
        if read.add(1, ordering: .relaxed).newValue > maxBlocks {
            read.subtract(1, ordering: .relaxed)
            return record(.blocks)
        }
        return true
    }

    @discardableResult
    private func record(_ reason: Stop) -> Bool {
        _ = stopped.compareExchange(expected: 0, desired: reason.rawValue, ordering: .relaxed)
        return false
    }

    /// CLOCK_MONOTONIC in nanoseconds.
    public static let monotonicNow: @Sendable () -> UInt64 = {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
