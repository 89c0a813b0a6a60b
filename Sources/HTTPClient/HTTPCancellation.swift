import Glibc

/// Interrupts a client's waits from another thread: `cancel()` makes every poll the client
/// does with this token return at once, and the request in progress ends with `.cancelled`.
/// A pipe whose read end becomes readable once cancelled (never reset: a cancelled token
/// stays so).
///
/// `Sendable`: only the descriptors (immutable) are shared; pipe writes and polls are
/// thread-safe.
public final class HTTPCancellation: Sendable {
    /// Polled for POLLIN.
    let fd: Int32
    private let writeEnd: Int32

    public init() {
        var ends: [Int32] = [-1, -1]
        _ = pipe(&ends)
        for end in ends where end >= 0 {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        fd = ends[0]
        writeEnd = ends[1]
    }

    public func cancel() {
        var one: UInt8 = 1
        _ = write(writeEnd, &one, 1)
    }

    public var isCancelled: Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) > 0
    }

    /// Waits up to `millis` ms; true when cancelled (at once or during the wait).
    public func wait(millis: Int) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let n = poll(&p, 1, Int32(clamping: millis))
            if n >= 0 || errno != EINTR { return n > 0 }
        }
    }

    deinit {
        Glibc.close(fd)
        Glibc.close(writeEnd)
    }
}
