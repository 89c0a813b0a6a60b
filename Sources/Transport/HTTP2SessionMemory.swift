internal import CNghttp2
#if canImport(Glibc)
import Glibc
#endif

/// nghttp2's allocator for one session: what the session allocates for its whole life while it
/// is being created (the 16 KiB frame buffer, the 4 KiB stream map) comes from its own pages
/// (mmap); everything else from malloc.
///
/// Design: an idle HTTP/2 connection cost about 22 KiB of RSS with malloc (measured with
/// `Benchmarks/connections.sh`), most of it those two blocks: a calloc'd map is zeroed (every
/// page touched), and a 16 KiB block in the heap touches the pages of the malloc headers at
/// both of its ends besides the one page of frames an idle connection writes. Mapped, a block
/// costs only the pages used, and nothing once freed. Only creation-time blocks are mapped (the
/// flag `creating`), so requests never pay for a system call; if mmap fails (the map count
/// limit, say), malloc serves instead. Lengths are kept here, not in the mapping, so a 4 KiB
/// map is one page.
///
/// A connection that stays idle gives those pages back (`releaseIdlePages`, from the server's
/// once-a-second sweep): the frame buffer's, whose bytes are dead once nghttp2 has nothing to
/// send (nghttp2 1.52 makes it with realloc from nothing, the only block made that way, of
/// `frameBufferSize` bytes), and
/// any other block that reads all zero, as the stream map does with no stream in it. The kernel
/// gives zero pages back on the next touch, so nothing nghttp2 reads changes. Touched only on
/// the session's queue (and in `init`, before the session is shared).
final class HTTP2SessionMemory {
    /// Blocks at least this large, allocated while the session is being created, are mapped.
    static let mappedMinimum = 4096
    /// nghttp2's frame buffer: a frame header, a padding byte and the largest payload
    /// (`NGHTTP2_FRAMEBUF_CHUNKLEN`).
    static let frameBufferSize = 9 + 1 + 16384

    private struct Block {
        let pointer: UnsafeMutableRawPointer
        let length: Int
        /// The frame buffer: its bytes matter only while frames are being sent.
        let scratch: Bool
    }

    var creating = false
    /// The mapped blocks, at most a few.
    private var mapped: [Block] = []

    /// The mapped blocks (pointers as returned to nghttp2).
    var mappedBlocks: [UnsafeMutableRawPointer] { mapped.map(\.pointer) }

    /// The allocator for `nghttp2_session_server_new3`; `self` must outlive the session.
    var allocator: nghttp2_mem {
        nghttp2_mem(
            mem_user_data: Unmanaged.passUnretained(self).toOpaque(),
            malloc: { size, user in HTTP2SessionMemory.from(user).allocate(size, zeroed: false) },
            free: { pointer, user in HTTP2SessionMemory.from(user).release(pointer) },
            calloc: { count, size, user in
                let (total, overflow) = count.multipliedReportingOverflow(by: size)
                return overflow ? nil : HTTP2SessionMemory.from(user).allocate(total, zeroed: true)
            },
            realloc: { pointer, size, user in HTTP2SessionMemory.from(user).reallocate(pointer, size) })
    }

    private static func from(_ user: UnsafeMutableRawPointer?) -> HTTP2SessionMemory {
        Unmanaged<HTTP2SessionMemory>.fromOpaque(user!).takeUnretainedValue()
    }

    func allocate(_ size: Int, zeroed: Bool, scratch: Bool = false) -> UnsafeMutableRawPointer? {
        if creating, size >= Self.mappedMinimum, let block = map(size, scratch: scratch) { return block }   // mmap'd pages are zero
        return zeroed ? calloc(1, size) : malloc(size)
    }

    private func map(_ size: Int, scratch: Bool) -> UnsafeMutableRawPointer? {
        guard let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              base != MAP_FAILED else { return nil }
        mapped.append(Block(pointer: base, length: size, scratch: scratch))
        return base
    }

    private func mappedIndex(_ pointer: UnsafeMutableRawPointer) -> Int? {
        mapped.firstIndex { $0.pointer == pointer }
    }

    func release(_ pointer: UnsafeMutableRawPointer?) {
        guard let pointer else { return }
        if let index = mappedIndex(pointer) {
            munmap(pointer, mapped[index].length)
            mapped.remove(at: index)
        } else {
            free(pointer)
        }
    }

    func reallocate(_ pointer: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
        // nghttp2 makes its frame buffer with realloc from nothing, of exactly this size; any
        // other block keeps its pages unless it reads all zero.
        guard let pointer else { return allocate(size, zeroed: false, scratch: size == Self.frameBufferSize) }
        guard let index = mappedIndex(pointer) else { return realloc(pointer, size) }
        let capacity = mapped[index].length
        if size <= capacity { return pointer }
        guard let block = malloc(size) else { return nil }
        memcpy(block, pointer, capacity)
        release(pointer)
        return block
    }

    /// Gives back the pages of the frame buffer and of every mapped block that reads all zero.
    /// Only when nghttp2 has nothing to send. Returns the number of blocks given back.
    @discardableResult
    func releaseIdlePages() -> Int {
        var released = 0
        for block in mapped where block.scratch || Self.isZero(block.pointer, block.length) {
            if madvise(block.pointer, block.length, MADV_DONTNEED) == 0 { released += 1 }
        }
        return released
    }

    private static func isZero(_ pointer: UnsafeMutableRawPointer, _ length: Int) -> Bool {
        let words = UnsafeBufferPointer(start: pointer.assumingMemoryBound(to: UInt64.self), count: length / 8)
        var any: UInt64 = 0
        for word in words { any |= word }
        guard any == 0 else { return false }
        for i in (length / 8 * 8)..<length where pointer.load(fromByteOffset: i, as: UInt8.self) != 0 { return false }
        return true
    }
}
