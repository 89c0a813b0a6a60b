import Buffers
import Testing

private func storage(_ buffer: [UInt8]) -> UInt {
    buffer.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
}

/// Spare buffers are bounded, kept once per storage, and handed out again empty; the pool lets
/// them all go once idle, and reuse is never visible to a batch still holding the bytes.
@Suite struct PayloadPoolTests {
    @Test func spareBuffersKeepEachStorageOnceWithinTheirBounds() {
        var spares = SpareBuffers(limit: 2, maxBytes: 1 << 20)
        var small: [UInt8] = []
        small.reserveCapacity(1_000)
        spares.give(small)
        #expect(spares.count == 0, "under 4 KiB: not worth keeping")
        var huge: [UInt8] = []
        huge.reserveCapacity(2 << 20)
        spares.give(huge)
        #expect(spares.count == 0, "over maxBytes")
        var a: [UInt8] = []
        a.reserveCapacity(64 << 10)
        a.append(contentsOf: [1, 2, 3])
        spares.give(a)
        spares.give(a)
        #expect(spares.count == 1, "the same storage given twice is kept once")
        var b: [UInt8] = []
        b.reserveCapacity(128 << 10)
        var c: [UInt8] = []
        c.reserveCapacity(256 << 10)
        spares.give(b)
        spares.give(c)
        // The spares now hold the only reference to c's storage, as a pool's spares do.
        let cStorage = storage(c)
        c = []
        #expect(spares.count == 2 && spares.retainedBytes >= (128 + 256) << 10, "the smallest went")
        let taken = spares.take(capacity: 200 << 10)
        #expect(storage(taken) == cStorage)
        #expect(taken.isEmpty, "handed out empty")
        #expect(spares.count == 1)
        spares.removeAll()
        #expect(spares.count == 0 && spares.retainedBytes == 0)
    }

    /// A taker gets the smallest spare that fits, never one more than `maxSlack` times its
    /// request (a small body must not pin a batch-sized buffer).
    @Test func takeHandsOutTheSmallestFitWithinTheSlack() {
        var spares = SpareBuffers(limit: 4, maxBytes: 16 << 20, maxSlack: 2)
        var addresses: [Int: UInt] = [:]
        for kib in [64, 256, 1024] {
            var buffer: [UInt8] = []
            buffer.reserveCapacity(kib << 10)
            addresses[kib] = storage(buffer)
            spares.give(buffer)
        }
        #expect(spares.count == 3)
        let fresh = spares.take(capacity: 300 << 10)
        #expect(!addresses.values.contains(storage(fresh)), "1 MiB is more than twice 300 KiB: a fresh buffer")
        #expect(fresh.capacity >= 300 << 10)
        #expect(spares.count == 3)
        #expect(storage(spares.take(capacity: 200 << 10)) == addresses[256], "the smallest that fits")
        #expect(storage(spares.take(capacity: 600 << 10)) == addresses[1024])
        #expect(storage(spares.take(capacity: 40 << 10)) == addresses[64])
        #expect(spares.count == 0 && spares.retainedBytes == 0)
    }

    /// The spares never hold more than `maxRetainedBytes` in all; a larger buffer replaces the
    /// smallest only while the total stays within it.
    @Test func retainedBytesStayWithinTheirBound() {
        func buffer(_ kib: Int) -> [UInt8] {
            var b: [UInt8] = []
            b.reserveCapacity(kib << 10)
            return b
        }
        let a = buffer(128), b = buffer(128)
        let bound = a.capacity + b.capacity + (40 << 10)
        var spares = SpareBuffers(limit: 8, maxBytes: 16 << 20, maxRetainedBytes: bound)
        spares.give(a)
        spares.give(b)
        #expect(spares.count == 2 && spares.retainedBytes == a.capacity + b.capacity)
        spares.give(buffer(50))
        #expect(spares.count == 2 && spares.retainedBytes == a.capacity + b.capacity, "over the bound: not kept")
        let c = buffer(160)
        spares.give(c)
        #expect(spares.count == 2, "replaced the smallest")
        #expect(spares.retainedBytes == b.capacity + c.capacity || spares.retainedBytes == a.capacity + c.capacity)
        let before = spares.retainedBytes
        spares.give(buffer(290))
        #expect(spares.retainedBytes == before, "over the bound even in place of the smallest: not kept")
        #expect(spares.retainedBytes <= bound)
    }

    @Test func takenBuffersAreEmptyAndReuseTheStorageGivenBack() {
        let pool = PayloadPool(limit: 2, maxBytes: 16 << 20, idleRelease: false)
        var first = pool.take(capacity: 1 << 20)
        #expect(first.isEmpty && first.capacity >= 1 << 20)
        first.append(contentsOf: repeatElement(7, count: 300_000))
        let address = storage(first)
        pool.give(first)
        first = []
        #expect(pool.retained.count == 1)
        let second = pool.take(capacity: 512 << 10)
        #expect(second.isEmpty, "handed out empty")
        #expect(storage(second) == address, "the same pages again")
        #expect(pool.retained.count == 0)
    }

    @Test func aBufferStillHeldKeepsItsBytesWhenTheNextTakerWrites() {
        let pool = PayloadPool(limit: 2, maxBytes: 16 << 20, idleRelease: false)
        var batch = pool.take(capacity: 64 << 10)
        batch.append(contentsOf: repeatElement(1, count: 10_000))
        pool.give(batch)  // one exporter is done; the batch is still held elsewhere
        var next = pool.take(capacity: 64 << 10)
        next.append(contentsOf: repeatElement(2, count: 20_000))
        #expect(batch.count == 10_000 && batch.allSatisfy { $0 == 1 }, "copy on write, not reuse")
        #expect(storage(next) != storage(batch))
        #expect(next.count == 20_000 && next.allSatisfy { $0 == 2 })
    }

    @Test func anIdlePoolLetsItsBuffersGo() {
        let pool = PayloadPool(limit: 2, maxBytes: 16 << 20, idleRelease: false)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        pool.give(buffer)
        buffer = []
        #expect(pool.releaseIfIdle() == false, "used since the last tick")
        #expect(pool.retained.count == 1)
        #expect(pool.releaseIfIdle() == true)
        #expect(pool.retained.count == 0 && pool.retained.bytes == 0)
        _ = pool.take(capacity: 10)
        #expect(pool.releaseIfIdle() == false, "a take counts as use")
    }
}
