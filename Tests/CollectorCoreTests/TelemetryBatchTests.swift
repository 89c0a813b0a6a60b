import CollectorCore
import Testing

private func storage(_ buffer: [UInt8]) -> UInt {
    buffer.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
}

private func batch(_ bytes: [UInt8], _ count: Int = 1) -> TelemetryBatch {
    TelemetryBatch(signal: .traces, payload: bytes, itemCount: count)
}

/// Merging by reference keeps large requests' buffers as parts, copies small ones onto the end
/// without ever reordering the data, and `join` makes it one buffer again.
@Suite struct TelemetryBatchTests {
    @Test func largeDataIsKeptByReferenceAndSmallDataCopiedInOrder() {
        let large1 = [UInt8](repeating: 1, count: 100)
        let large2 = [UInt8](repeating: 2, count: 150)
        // More than the room after large1 (which the test still holds: writing there would
        // copy it), less than a part.
        let small = [UInt8](repeating: 3, count: large1.capacity - large1.count + 1)
        var merged = batch([0, 0, 0], 3)
        merged.append(batch(large1, 10), keepingPartsFrom: 100)
        merged.append(batch(small, 2), keepingPartsFrom: 100)
        merged.append(batch(large2, 15), keepingPartsFrom: 100)
        #expect(merged.payload == [0, 0, 0], "a part follows the payload: nothing is copied into it")
        #expect(merged.parts.count == 3)
        #expect(storage(merged.parts[0]) == storage(large1), "the large request's own buffer")
        #expect(merged.parts[1] == small)
        #expect(storage(merged.parts[2]) == storage(large2))
        let expected = [0, 0, 0] + large1 + small + large2
        #expect(merged.byteCount == expected.count)
        #expect(merged.itemCount == 30)
        merged.join()
        #expect(merged.parts.isEmpty)
        #expect(merged.payload == expected)
        merged.join()
        #expect(merged.payload == expected, "joining a whole batch changes nothing")
    }

    @Test func smallDataAfterALargePartGoesIntoANewPartUnlessThePartHasRoom() {
        var noRoom = [UInt8](repeating: 9, count: 64)
        noRoom.reserveCapacity(64)  // exactly full (or nearly: the allocator may round up)
        var merged = batch([], 0)
        merged.append(batch([7], 1), keepingPartsFrom: 64)
        merged.append(batch(noRoom, 1), keepingPartsFrom: 64)
        let room = noRoom.capacity - noRoom.count
        merged.append(batch([UInt8](repeating: 5, count: room + 1), 1), keepingPartsFrom: 64)
        #expect(merged.parts.count == 2, "no room after the large part: a new part, the large one not regrown")
        #expect(storage(merged.parts[0]) == storage(noRoom))
        #expect(merged.parts[1] == [UInt8](repeating: 5, count: room + 1))
        merged.append(batch([6], 1), keepingPartsFrom: 64)
        #expect(merged.parts.count == 2, "a small part takes more small data")
        #expect(merged.parts[1].last == 6)
    }

    /// The default (copying) append keeps the order of a batch that already has parts.
    @Test func copyingAppendAfterPartsKeepsTheOrder() {
        let large = [UInt8](repeating: 1, count: 200)
        var merged = batch([0], 1)
        merged.append(batch(large, 1), keepingPartsFrom: 100)
        merged.append(batch([2, 2], 1))
        var other = batch([3], 1)
        other.append(batch([UInt8](repeating: 4, count: 120), 1), keepingPartsFrom: 100)
        merged.append(other)
        merged.join()
        #expect(merged.payload == [0] + large + [2, 2, 3] + [UInt8](repeating: 4, count: 120))
        #expect(merged.itemCount == 5)
    }

    /// A batch whose data the pipeline's inline exporters read keeps saying so through a merge
    /// only when all of it was read: otherwise the fan-out must still hand it to them.
    @Test func fedInlineSurvivesAMergeOnlyWhenBothSidesHaveIt() {
        func fed(_ bytes: [UInt8], _ flag: Bool) -> TelemetryBatch {
            var b = batch(bytes)
            b.fedInline = flag
            return b
        }
        var both = fed([1], true)
        both.append(fed([2], true))
        #expect(both.fedInline)
        both.append(fed([UInt8](repeating: 3, count: 200), true), keepingPartsFrom: 100)
        #expect(both.fedInline)
        var mixed = fed([1], true)
        mixed.append(fed([2], false))
        #expect(!mixed.fedInline)
        mixed.append(fed([3], true))
        #expect(!mixed.fedInline, "once unread data is in, the batch is not fed")
        var first = fed([1], false)
        first.append(fed([2], true))
        #expect(!first.fedInline)
        #expect(!batch([0]).fedInline, "a new batch was not read by anyone")
    }

    @Test func anEmptyBatchTakesTheFirstDataAsItsPayload() {
        let first = [UInt8](repeating: 8, count: 300)
        var merged = batch([], 0)
        merged.append(batch(first, 3), keepingPartsFrom: 100)
        #expect(merged.parts.isEmpty)
        #expect(storage(merged.payload) == storage(first))
    }
}
