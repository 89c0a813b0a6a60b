import Glibc

/// A failed system call: which call, on which path (when there is one), and `errno`.
///
/// Every module's own error type (`StoreError`, `TransportError`, the Loki disk queue's and the
/// filelog receiver's failures) is made from this one in a single place, so a full disk or a
/// lack of descriptors reads the same everywhere: `write /data/x: No space left on device`.
public struct SystemError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The call that failed, e.g. `pwrite`, `flock`, `setsockopt(SO_REUSEADDR)`.
    public var call: String
    /// The file or directory it concerned, if any (`from -> to` for a rename).
    public var path: String?
    /// The error number the call left.
    public var errno: Int32

    public init(call: String, path: String? = nil, errno: Int32) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    /// The file system is full, or the user's quota is (`ENOSPC`, `EDQUOT`): may pass later.
    public var isNoSpace: Bool { errno == ENOSPC || errno == EDQUOT }

    /// The process or the system is out of file descriptors (`EMFILE`, `ENFILE`).
    public var isOutOfDescriptors: Bool { errno == EMFILE || errno == ENFILE }

    /// Another holder has it (`EWOULDBLOCK`/`EAGAIN`), e.g. a lock taken without waiting.
    public var isBusy: Bool { errno == EWOULDBLOCK || errno == EAGAIN }

    /// The path does not exist (`ENOENT`).
    public var isMissing: Bool { errno == ENOENT }

    /// `call path: message` (or `call: message` without a path).
    public var description: String {
        if let path { return "\(call) \(path): \(Self.message(errno))" }
        return "\(call): \(Self.message(errno))"
    }

    /// The C library's text for `code` (thread-safe `strerror_r`), e.g. "No space left on device".
    public static func message(_ code: Int32) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buffer -> String in
            // Glibc's Swift overlay exposes the XSI variant: it fills `buffer` and returns 0.
            guard strerror_r(code, buffer.baseAddress!, buffer.count) == 0 else { return "errno \(code)" }
            buffer[buffer.count - 1] = 0
            return String(cString: buffer.baseAddress!)
        }
    }
}
