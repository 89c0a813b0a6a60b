/// Request-sized buffers given back after use (by a processor, the batches it replaced; by the
/// store, the blocks it wrote), reused for the next rewrite, so that a rewrite writes into
/// pages already faulted in rather than into a fresh mapping per request (glibc maps and
/// unmaps every allocation above its mmap threshold, 256 KiB in collectord, and the page
/// faults cost more than the copy).
///
/// Bounded: at most `limit` buffers of at most `maxBytes` capacity each, `maxRetainedBytes` in
/// all. A taker gets the smallest spare that is large enough, and none more than `maxSlack`
/// times what it asked for (a small request must not pin a batch-sized buffer, whose pages are
/// all resident once used). A buffer still shared when it is taken again is copied on write as
/// any array, so reuse is never visible to the batch that had it. Not thread-safe: one per
/// processor instance (a processor runs on its pipeline's queue), or behind a lock.
public struct SpareBuffers: Sendable {
    private var buffers: [[UInt8]] = []
    public let limit: Int
    public let maxBytes: Int
    public let maxRetainedBytes: Int
    public let maxSlack: Int
    /// Capacity of the spares, in bytes.
    public private(set) var retainedBytes = 0

    public init(limit: Int = 2, maxBytes: Int = 16 << 20, maxRetainedBytes: Int = .max, maxSlack: Int = .max) {
        self.limit = limit
        self.maxBytes = maxBytes
        self.maxRetainedBytes = maxRetainedBytes
        self.maxSlack = max(1, maxSlack)
    }

    public var count: Int { buffers.count }

    /// An empty buffer with room for at least `capacity` bytes: the smallest spare large enough
    /// (within `maxSlack`), else a fresh one.
    public mutating func take(capacity: Int) -> [UInt8] {
        var best: Int?
        for i in buffers.indices where buffers[i].capacity >= capacity && buffers[i].capacity / maxSlack <= capacity {
            if best.map({ buffers[i].capacity < buffers[$0].capacity }) ?? true { best = i }
        }
        if let best {
            var spare = buffers.remove(at: best)
            retainedBytes -= spare.capacity
            spare.removeAll(keepingCapacity: true)
            return spare
        }
        var fresh: [UInt8] = []
        fresh.reserveCapacity(capacity)
        return fresh
    }

    /// Keeps `buffer` for a later `take` (replacing the smallest spare when full, if that one
    /// is smaller). A buffer whose storage is already kept (the same batch given back by two
    /// consumers) is not kept twice.
    public mutating func give(_ buffer: [UInt8]) {
        let size = buffer.capacity
        guard size >= 4096, size <= maxBytes, limit > 0 else { return }
        let storage = Self.storage(buffer)
        guard !buffers.contains(where: { Self.storage($0) == storage }) else { return }
        if buffers.count < limit, retainedBytes + size <= maxRetainedBytes {
            retainedBytes += size
            return buffers.append(buffer)
        }
        guard let smallest = buffers.indices.min(by: { buffers[$0].capacity < buffers[$1].capacity }),
              buffers[smallest].capacity < size,
              retainedBytes - buffers[smallest].capacity + size <= maxRetainedBytes else { return }
        retainedBytes += size - buffers[smallest].capacity
        buffers[smallest] = buffer
    }

    private static func storage(_ buffer: [UInt8]) -> UInt {
        buffer.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
    }

    /// Lets every spare go (an idle owner gives its memory back).
    public mutating func removeAll() {
        buffers = []
        retainedBytes = 0
    }
}
