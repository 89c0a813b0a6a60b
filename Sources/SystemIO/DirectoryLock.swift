import Glibc

/// Marks a directory as owned by one holder: an exclusive `flock` on a lock file in it, taken
/// without blocking, held for the lifetime of this object.
///
/// Design: `flock` locks belong to an open file description, so a second holder is refused
/// whether it is another process or another open of the same file in this process (a second
/// store on one directory, an old exporter still finishing after a reload). The kernel drops
/// the lock when the descriptor is closed, also when the process dies, so a crash never leaves
/// a stale lock behind; the lock file itself stays (it holds nothing). Deinit closes the
/// descriptor and so releases the lock.
public final class DirectoryLock: Sendable {
    /// The lock file (`<directory>/<name>`).
    public let path: String
    private let fd: Int32

    /// How long to sleep between attempts while waiting.
    static let retryNanos: UInt64 = 50_000_000

    /// Opens (creating it when missing) `<directory>/<name>` and locks it. While another holder
    /// has it, tries again for up to `wait` ns (0: once), then throws a ``SystemError`` for
    /// `flock` on the lock file whose ``SystemError/isBusy`` is true. The directory must exist.
    public init(directory: String, name: String, wait: UInt64 = 0) throws(SystemError) {
        let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
        let fd = try Sys.open(path, O_RDWR | O_CREAT)
        var waited: UInt64 = 0
        while true {
            do throws(SystemError) {
                try Sys.call("flock", path: path) { flock(fd, LOCK_EX | LOCK_NB) }
                break
            } catch let error where error.isBusy && waited < wait {
                usleep(useconds_t(Self.retryNanos / 1000))
                waited += Self.retryNanos
            } catch {
                Sys.close(fd)
                throw error
            }
        }
        self.path = path
        self.fd = fd
    }

    deinit { Sys.close(fd) }
}
