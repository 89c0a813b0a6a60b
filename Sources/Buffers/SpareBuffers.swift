/// Request-sized buffers given back after use (by a processor, the batches it replaced; by the
/// store, the blocks it wrote), reused for the next rewrite, so that a rewrite writes into
/// pages already faulted in rather than into a fresh mapping per request (glibc maps and
/// unmaps every allocation above its mmap threshold, 256 KiB in collectord, and the page
/// faults cost more than the copy).
///
/// Bounded: at most `limit` buffers of at most `maxBytes` capacity each. A buffer still shared
/// when it is taken again is copied on write as any array, so reuse is never visible to the
/// batch that had it. Not thread-safe: one per processor instance (a processor runs on its
/// pipeline's queue), or behind a lock.
public struct SpareBuffers: Sendable {
    private var buffers: [[UInt8]] = []
    public let limit: Int
    public let maxBytes: Int

    public init(limit: Int = 2, maxBytes: Int = 16 << 20) {
        self.limit = limit
        self.maxBytes = maxBytes
    }

    public var count: Int { buffers.count }

    /// An empty buffer with room for at least `capacity` bytes (a spare one when there is one
    /// large enough).
    public mutating func take(capacity: Int) -> [UInt8] {
        if let i = buffers.firstIndex(where: { $0.capacity >= capacity }) {
            var spare = buffers.remove(at: i)
            spare.removeAll(keepingCapacity: true)
            return spare
        }
        var fresh: [UInt8] = []
        fresh.reserveCapacity(capacity)
        return fresh
    }

    /// Keeps `buffer` for a later `take` (the smallest spare goes when full). A buffer whose
    /// storage is already kept (the same batch given back by two consumers) is not kept twice.
    public mutating func give(_ buffer: [UInt8]) {
        guard buffer.capacity >= 4096, buffer.capacity <= maxBytes, limit > 0 else { return }
        let storage = Self.storage(buffer)
        guard !buffers.contains(where: { Self.storage($0) == storage }) else { return }
        if buffers.count < limit { return buffers.append(buffer) }
        guard let smallest = buffers.indices.min(by: { buffers[$0].capacity < buffers[$1].capacity }),
              buffers[smallest].capacity < buffer.capacity else { return }
        buffers[smallest] = buffer
    }

    private static func storage(_ buffer: [UInt8]) -> UInt {
        buffer.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
    }

    /// Retained bytes (capacity of the spares).
    public var retainedBytes: Int { buffers.reduce(0) { $0 + $1.capacity } }

    /// Lets every spare go (an idle owner gives its memory back).
    public mutating func removeAll() { buffers = [] }
}
