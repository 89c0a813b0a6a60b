import Dispatch

/// A box for state that is only ever touched on one serial queue.
///
/// `@unchecked Sendable` is justified by confinement: every access goes through `queue`
/// (the receiver's serial queue), so no two threads see `value` at once. `assertOnQueue`
/// documents and (in debug builds) checks it.
final class QueueConfined<Value>: @unchecked Sendable {
    let queue: DispatchQueue
    private let value: Value

    init(_ value: Value, queue: DispatchQueue) {
        self.value = value
        self.queue = queue
    }

    /// The value; call only on `queue`.
    var onQueue: Value {
        dispatchPrecondition(condition: .onQueue(queue))
        return value
    }

    func async(_ body: @escaping @Sendable (Value) -> Void) {
        queue.async { body(self.onQueue) }
    }
}
