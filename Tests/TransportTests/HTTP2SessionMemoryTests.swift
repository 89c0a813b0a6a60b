import Testing
@testable import Transport

/// The HTTP/2 session allocator: blocks of creation time are mapped, others come from malloc,
/// and both kinds read, grow and free correctly.
@Suite struct HTTP2SessionMemoryTests {
    @Test func creationTimeBlocksAreMappedAndZeroed() throws {
        let memory = HTTP2SessionMemory()
        memory.creating = true
        let big = try #require(memory.allocate(16394, zeroed: true))
        let small = try #require(memory.allocate(48, zeroed: true))
        memory.creating = false
        #expect(memory.mapped == [big])
        let bytes = big.assumingMemoryBound(to: UInt8.self)
        #expect((0..<16394).allSatisfy { bytes[$0] == 0 })
        #expect((0..<48).allSatisfy { small.assumingMemoryBound(to: UInt8.self)[$0] == 0 })
        memory.release(small)
        memory.release(big)
        #expect(memory.mapped.isEmpty)
    }

    @Test func laterBlocksComeFromMalloc() throws {
        let memory = HTTP2SessionMemory()
        let later = try #require(memory.allocate(65536, zeroed: false))
        #expect(memory.mapped.isEmpty)
        memory.release(later)
    }

    /// nghttp2 makes its frame buffer with realloc(NULL, n) while the session is created, and
    /// may grow a mapped block later: the content moves with it.
    @Test func reallocKeepsTheContent() throws {
        let memory = HTTP2SessionMemory()
        memory.creating = true
        let buffer = try #require(memory.reallocate(nil, 5000))
        memory.creating = false
        #expect(memory.mapped == [buffer])
        for i in 0..<5000 { buffer.storeBytes(of: UInt8(truncatingIfNeeded: i), toByteOffset: i, as: UInt8.self) }
        #expect(memory.reallocate(buffer, 4000) == buffer)   // fits: the same block
        let grown = try #require(memory.reallocate(buffer, 20000))
        #expect(memory.mapped.isEmpty)
        #expect((0..<5000).allSatisfy { grown.load(fromByteOffset: $0, as: UInt8.self) == UInt8(truncatingIfNeeded: $0) })
        memory.release(grown)
        memory.release(nil)
    }
}
