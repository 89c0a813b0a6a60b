#if canImport(Glibc)
import Glibc
#endif
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
        #expect(memory.mappedBlocks == [big])
        let bytes = big.assumingMemoryBound(to: UInt8.self)
        #expect((0..<16394).allSatisfy { bytes[$0] == 0 })
        #expect((0..<48).allSatisfy { small.assumingMemoryBound(to: UInt8.self)[$0] == 0 })
        memory.release(small)
        memory.release(big)
        #expect(memory.mappedBlocks.isEmpty)
    }

    @Test func laterBlocksComeFromMalloc() throws {
        let memory = HTTP2SessionMemory()
        let later = try #require(memory.allocate(65536, zeroed: false))
        #expect(memory.mappedBlocks.isEmpty)
        memory.release(later)
    }

    /// nghttp2 makes its frame buffer with realloc(NULL, n) while the session is created, and
    /// may grow a mapped block later: the content moves with it.
    @Test func reallocKeepsTheContent() throws {
        let memory = HTTP2SessionMemory()
        memory.creating = true
        let buffer = try #require(memory.reallocate(nil, 5000))
        memory.creating = false
        #expect(memory.mappedBlocks == [buffer])
        for i in 0..<5000 { buffer.storeBytes(of: UInt8(truncatingIfNeeded: i), toByteOffset: i, as: UInt8.self) }
        #expect(memory.reallocate(buffer, 4000) == buffer)   // fits: the same block
        let grown = try #require(memory.reallocate(buffer, 20000))
        #expect(memory.mappedBlocks.isEmpty)
        #expect((0..<5000).allSatisfy { grown.load(fromByteOffset: $0, as: UInt8.self) == UInt8(truncatingIfNeeded: $0) })
        memory.release(grown)
        memory.release(nil)
    }

    /// An idle session gives back the frame buffer's pages and those of blocks that read all
    /// zero (the stream map with no stream); a block holding data keeps its pages and bytes.
    @Test func idlePagesAreGivenBackWithoutChangingWhatIsRead() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let memory = HTTP2SessionMemory()
        memory.creating = true
        let frames = try #require(memory.reallocate(nil, HTTP2SessionMemory.frameBufferSize))
        let other = try #require(memory.reallocate(nil, 8192))   // not the frame buffer: kept
        let emptyMap = try #require(memory.allocate(4096, zeroed: true))
        let fullMap = try #require(memory.allocate(4096, zeroed: true))
        memory.creating = false
        defer { for block in [frames, other, emptyMap, fullMap] { memory.release(block) } }
        frames.storeBytes(of: 0xAB, toByteOffset: 10, as: UInt8.self)
        emptyMap.storeBytes(of: 7, toByteOffset: 100, as: UInt8.self)
        emptyMap.storeBytes(of: 0, toByteOffset: 100, as: UInt8.self)   // touched, zero again
        fullMap.storeBytes(of: 7, toByteOffset: 4095, as: UInt8.self)
        other.storeBytes(of: 9, toByteOffset: 0, as: UInt8.self)
        func resident(_ block: UnsafeMutableRawPointer) -> Bool {
            var vector: UInt8 = 0
            return mincore(block, page, &vector) == 0 && vector & 1 == 1
        }
        #expect(resident(frames) && resident(emptyMap) && resident(fullMap))

        #expect(memory.releaseIdlePages() == 2)
        #expect(!resident(frames) && !resident(emptyMap) && resident(fullMap) && resident(other))
        #expect(other.load(as: UInt8.self) == 9)
        #expect(frames.load(fromByteOffset: 10, as: UInt8.self) == 0)
        #expect(fullMap.load(fromByteOffset: 4095, as: UInt8.self) == 7)
        // Usable again: the next frames land on a fresh page.
        frames.storeBytes(of: 0xCD, toByteOffset: 10, as: UInt8.self)
        #expect(resident(frames) && frames.load(fromByteOffset: 10, as: UInt8.self) == 0xCD)
    }
}
