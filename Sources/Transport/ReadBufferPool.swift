import Synchronization

/// Reusable read buffers shared by all connections.
///
/// A connection borrows a buffer only for the duration of one read event, so the pool holds
/// about as many buffers as reads run at once (a few per core), not one per connection.
/// Thread-safe. Buffers are never freed (the pool is bounded by peak read concurrency).
final class ReadBufferPool: Sendable {
    static let shared = ReadBufferPool(bufferSize: 256 * 1024)

    let bufferSize: Int
    private let free = Mutex<[UnsafeMutableRawBufferPointerBox]>([])

    init(bufferSize: Int) { self.bufferSize = bufferSize }

    /// Lends a buffer to `body`; the bytes are only valid inside it.
    func withBuffer<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        let box = free.withLock { $0.popLast() }
            ?? UnsafeMutableRawBufferPointerBox(.allocate(byteCount: bufferSize, alignment: 16))
        defer { free.withLock { $0.append(box) } }
        return try body(box.buffer)
    }
}

/// An owned raw buffer that can cross threads.
// @unchecked Sendable: the buffer is used by exactly one borrower at a time (the pool's mutex
// hands it out and takes it back); the box itself is immutable.
final class UnsafeMutableRawBufferPointerBox: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer
    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }
    deinit { buffer.deallocate() }
}
