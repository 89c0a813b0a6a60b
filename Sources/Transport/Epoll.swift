#if canImport(Glibc)
import Glibc
#endif
import SystemIO

/// A minimal binding of Linux epoll.
///
/// Glibc's Swift module does not import `<sys/epoll.h>` and this target cannot add a C shim,
/// so `epoll_create1`, `epoll_ctl` and `epoll_wait` are resolved once with `dlsym` and called
/// through C function pointers. The constants and the `struct epoll_event` layout below are
/// the stable Linux ABI (packed, 12 bytes, on x86_64; 16 bytes elsewhere). If a C shim target
/// is ever added to the package, this file is the only one to replace.
enum Epoll {
    static let readable: UInt32 = 0x001  // EPOLLIN
    static let writable: UInt32 = 0x004  // EPOLLOUT
    static let error: UInt32 = 0x008  // EPOLLERR
    static let hangup: UInt32 = 0x010  // EPOLLHUP
    static let oneShot: UInt32 = 1 << 30  // EPOLLONESHOT

    static let add: Int32 = 1  // EPOLL_CTL_ADD
    static let delete: Int32 = 2  // EPOLL_CTL_DEL
    static let modify: Int32 = 3  // EPOLL_CTL_MOD

    #if arch(x86_64)
    static let eventSize = 12
    static let dataOffset = 4
    #else
    static let eventSize = 16
    static let dataOffset = 8
    #endif

    private typealias CreateFunction = @convention(c) (Int32) -> Int32
    private typealias ControlFunction = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    private typealias WaitFunction = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32

    private struct Functions {
        let create: CreateFunction
        let control: ControlFunction
        let wait: WaitFunction
    }

    private static let functions: Functions? = {
        guard let library = dlopen(nil, RTLD_NOW),
              let create = dlsym(library, "epoll_create1"),
              let control = dlsym(library, "epoll_ctl"),
              let wait = dlsym(library, "epoll_wait")
        else { return nil }
        return Functions(create: unsafeBitCast(create, to: CreateFunction.self),
                         control: unsafeBitCast(control, to: ControlFunction.self),
                         wait: unsafeBitCast(wait, to: WaitFunction.self))
    }()

    /// A new close-on-exec epoll descriptor.
    static func create() throws -> Int32 {
        guard let functions else { throw TransportError.systemCall("epoll_create1 (not found)", errno: ENOSYS) }
        return try TransportError.io { () throws(SystemError) in try Sys.call("epoll_create1") { functions.create(O_CLOEXEC) } }
    }

    /// `epoll_ctl(epfd, operation, fd, {events, data.u64 = token})`.
    static func control(_ epfd: Int32, _ operation: Int32, _ fd: Int32, events: UInt32, token: UInt64) throws {
        guard let functions else { throw TransportError.systemCall("epoll_ctl (not found)", errno: ENOSYS) }
        var event: (UInt64, UInt64) = (0, 0)
        try withUnsafeMutableBytes(of: &event) { raw in
            raw.storeBytes(of: events, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: token, toByteOffset: dataOffset, as: UInt64.self)
            try TransportError.io { () throws(SystemError) in try Sys.call("epoll_ctl") { functions.control(epfd, operation, fd, raw.baseAddress) } }
        }
    }

    /// Waits for events (retrying `EINTR`); returns how many were stored in `buffer`, which
    /// holds `capacity` events of ``eventSize`` bytes.
    static func wait(_ epfd: Int32, into buffer: UnsafeMutableRawPointer, capacity: Int32, timeoutMilliseconds: Int32) throws -> Int {
        guard let functions else { throw TransportError.systemCall("epoll_wait (not found)", errno: ENOSYS) }
        return Int(try TransportError.io { () throws(SystemError) in
            try Sys.call("epoll_wait") { functions.wait(epfd, buffer, capacity, timeoutMilliseconds) }
        })
    }

    /// The event mask and token of event `index` in a buffer filled by ``wait(_:into:capacity:timeoutMilliseconds:)``.
    static func event(at index: Int, in buffer: UnsafeMutableRawPointer) -> (events: UInt32, token: UInt64) {
        let base = UnsafeRawPointer(buffer) + index * eventSize
        return (base.loadUnaligned(as: UInt32.self), base.loadUnaligned(fromByteOffset: dataOffset, as: UInt64.self))
    }
}
