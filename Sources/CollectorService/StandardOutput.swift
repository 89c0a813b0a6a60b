#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Serialized writes to file descriptor 1, so lines from several exporters never interleave.
public final class StandardOutput: Sendable {
    private let lock = Mutex(())
    private let fd: Int32

    public init(fd: Int32 = 1) { self.fd = fd }

    /// Writes all of `text`; a closed or broken stdout drops the text (never crashes).
    public func write(_ text: String) {
        var bytes = Array(text.utf8)
        lock.withLock { _ in
            bytes.withUnsafeMutableBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    if n < 0 {
                        if errno == EINTR || errno == EAGAIN { continue }
                        return
                    }
                    offset += n
                }
            }
        }
    }
}
