import CollectorCore
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

/// An exporter whose synchronous `export` blocks until its delivery ends (it sends and
/// retries on the calling thread): the asynchronous form runs it on one of its `slots`, so the
/// stage keeps `slots.count` batches out at once.
public protocol SlottedExporter: AsyncExporter {
    var slots: SenderSlots { get }
}

extension SlottedExporter {
    public var maxInFlight: Int { slots.count }

    public func export(_ batch: TelemetryBatch, completion: @escaping @Sendable (ComponentError?) -> Void) {
        slots.run { [self] in
            do throws(ComponentError) {
                try export(batch)
                completion(nil)
            } catch {
                completion(error)
            }
        }
    }
}
