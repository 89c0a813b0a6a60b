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
/// limit, say), malloc serves instead. Touched only on the session's queue (and in `init`,
/// before the session is shared).
final class HTTP2SessionMemory {
    /// Blocks at least this large, allocated while the session is being created, are mapped.
    static let mappedMinimum = 4096
    /// Mapped blocks start with this header: the mapping's length.
    private static let header = 16

    var creating = false
    /// The mapped blocks (pointers as returned to nghttp2), at most a few.
    private(set) var mapped: [UnsafeMutableRawPointer] = []

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

    func allocate(_ size: Int, zeroed: Bool) -> UnsafeMutableRawPointer? {
        if creating, size >= Self.mappedMinimum, let block = map(size) { return block }   // mmap'd pages are zero
        return zeroed ? calloc(1, size) : malloc(size)
    }

    private func map(_ size: Int) -> UnsafeMutableRawPointer? {
        let length = size + Self.header
        guard let base = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              base != MAP_FAILED else { return nil }
        base.storeBytes(of: length, as: Int.self)
        let block = base + Self.header
        mapped.append(block)
        return block
    }

    /// The mapping's length when `pointer` is a mapped block.
    private func mappedLength(_ pointer: UnsafeMutableRawPointer) -> Int? {
        guard mapped.contains(pointer) else { return nil }
        return (pointer - Self.header).load(as: Int.self)
    }

    func release(_ pointer: UnsafeMutableRawPointer?) {
        guard let pointer else { return }
        if let length = mappedLength(pointer) {
            mapped.removeAll { $0 == pointer }
            munmap(pointer - Self.header, length)
        } else {
            free(pointer)
        }
    }

    func reallocate(_ pointer: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
        guard let pointer else { return allocate(size, zeroed: false) }
        // (nghttp2 makes its frame buffer with realloc from nothing: the case above.)
        guard let length = mappedLength(pointer) else { return realloc(pointer, size) }
        let capacity = length - Self.header
        if size <= capacity { return pointer }
        guard let block = malloc(size) else { return nil }
        memcpy(block, pointer, capacity)
        release(pointer)
        return block
    }
}
