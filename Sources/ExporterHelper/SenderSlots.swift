import Dispatch
import Synchronization

/// Threads for deliveries that block (a send waits for its answer, a retry sleeps): one serial
/// queue per slot, so each delivery in flight has a thread of its own (serial queues get
/// threads even when every worker of the shared pool is busy) and never waits for another.
/// An `AsyncExporter` runs each batch on a free slot; the pipeline stage keeps at most
/// `count` batches out, so a slot is always free when one is asked for. Thread-safe.
public final class SenderSlots: Sendable {
    private let queues: [DispatchQueue]
    private let free: Mutex<[Int]>

    public init(count: Int, label: String) {
        queues = (0..<max(1, count)).map { DispatchQueue(label: "\(label).\($0)") }
        free = Mutex(Array(0..<max(1, count)))
    }

    public var count: Int { queues.count }

    /// Runs `work` on a free slot (on the first one should none be free), then frees it.
    public func run(_ work: @escaping @Sendable () -> Void) {
        let slot = free.withLock { $0.popLast() } ?? 0
        queues[slot].async { [self] in
            work()
            free.withLock { if !$0.contains(slot) { $0.append(slot) } }
        }
    }
}
