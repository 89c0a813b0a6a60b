#if canImport(Glibc)
import Glibc
#endif

/// One file per process for targets whose code under test reads a file (mapped index files):
/// each run rewrites it with the run's bytes. It lives in /dev/shm when there is one (no disk
/// I/O) and is removed at exit.
public enum ScratchFile {
    nonisolated(unsafe) private static var cached: String?

    /// The file's path, holding exactly `bytes`.
    public static func write(_ bytes: [UInt8]) -> String {
        let path = self.path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        require(fd >= 0, "cannot open \(path): errno \(errno)")
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + written, $0.count - written, off_t(written)) }
            require(n > 0, "cannot write \(path): errno \(errno)")
            written += n
        }
        return path
    }

    // nonisolated(unsafe): libFuzzer calls the target from one thread only.
    private static var path: String {
        if let cached { return cached }
        let directory = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        let made = "\(directory)/collector-fuzz-\(getpid())"
        cached = made
        atexit { if let path = ScratchFile.cached { unlink(path) } }
        return made
    }
}
