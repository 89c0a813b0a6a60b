import Testing
@testable import CollectorCore

@Suite struct ByteKeyTableTests {
    /// Every key of a few thousand, of every length from 0 to 40 (the hash's word and tail
    /// paths), gets the next index, is found again with a buffer of its own, and keeps its bytes
    /// through the table's growth; keys that differ in one byte or one length are not confused.
    @Test func indicesAreDenseAndStableThroughGrowth() {
        var table = ByteKeyTable()
        var keys: [[UInt8]] = []
        for n in 0..<3_000 {
            let length = n % 41
            keys.append((0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ n / 41) })
        }
        keys = Array(Set(keys.map { $0 })).sorted { $0.lexicographicallyPrecedes($1) }
        for (i, key) in keys.enumerated() {
            let result = key.withUnsafeBytes { table.findOrInsert($0) }
            #expect(result.index == i && result.inserted)
        }
        #expect(table.count == keys.count)
        for (i, key) in keys.enumerated() {
            let copy = Array(key)   // another buffer
            #expect(copy.withUnsafeBytes { table.index(of: $0, hash: ByteKeyTable.hash($0)) } == i)
            #expect(table.key(i) == key)
            #expect(table.withKey(i) { Array($0) } == key)
            let again = copy.withUnsafeBytes { table.findOrInsert($0) }
            #expect(again.index == i && !again.inserted)
        }
        let absent: [[UInt8]] = [[0xFF], Array(repeating: 7, count: 41), [0, 31, 62, 93, 124, 155, 186, 217, 248, 0xFF]]
        for key in absent {
            #expect(key.withUnsafeBytes { table.index(of: $0, hash: ByteKeyTable.hash($0)) } == nil)
        }
    }

    @Test func hashDependsOnEveryByteAndTheLength() {
        let base = Array("service.name=checkout".utf8)
        let h = base.withUnsafeBytes { ByteKeyTable.hash($0) }
        for i in base.indices {
            var changed = base
            changed[i] ^= 1
            #expect(changed.withUnsafeBytes { ByteKeyTable.hash($0) } != h)
        }
        #expect((base + [0]).withUnsafeBytes { ByteKeyTable.hash($0) } != h)
        #expect([UInt8]().withUnsafeBytes { ByteKeyTable.hash($0) } != [UInt8]([0]).withUnsafeBytes { ByteKeyTable.hash($0) })
    }
}
