import Dispatch

/// Runs long CPU-bound test work (hundreds of thousands of spans) on a Dispatch thread
/// instead of one of the cooperative pool's threads: on two cores the pool has two, and a test
/// that holds one for seconds stalls every other test's `await` (timing-sensitive ones fail).
public func offThePool<T>(_ body: @escaping () throws -> T) async throws -> T {
    let work = UncheckedBox(body)
    let result: UncheckedBox<Result<T, any Error>> = await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: UncheckedBox(Result { try work.value() })) }
    }
    return try result.value.get()
}

/// `@unchecked Sendable`: the value is handed from one thread to another and used by one at a
/// time (the awaiting test is suspended while the Dispatch thread runs).
private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
