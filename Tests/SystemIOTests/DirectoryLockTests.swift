import Glibc
import SystemIO
import Testing

@Suite struct DirectoryLockTests {
    @Test func aSecondHolderIsRefusedAndNamedUntilTheFirstLetsGo() throws {
        let dir = Scratch()
        var first: DirectoryLock? = try DirectoryLock(directory: dir.path, name: "LOCK")
        #expect(first?.path == dir.sub("LOCK"))
        // A second open file description in the same process: flock refuses it.
        do {
            _ = try DirectoryLock(directory: dir.path, name: "LOCK")
            Issue.record("a second holder got the lock")
        } catch {
            #expect(error.isBusy)
            #expect(error.call == "flock" && error.path == dir.sub("LOCK"))
            #expect(error.description == "flock \(dir.sub("LOCK")): Resource temporarily unavailable")
        }
        // Waiting does not help while the holder keeps it.
        #expect(throws: SystemError(call: "flock", path: dir.sub("LOCK"), errno: EWOULDBLOCK)) {
            try DirectoryLock(directory: dir.path, name: "LOCK", wait: 100_000_000)
        }
        withExtendedLifetime(first) {}
        first = nil
        // With a wait: a process another test spawns in the meantime holds a copy of the
        // descriptor (so of the lock) from its fork until its exec closes it (O_CLOEXEC).
        let second = try DirectoryLock(directory: dir.path, name: "LOCK", wait: 10_000_000_000)
        #expect(second.path == dir.sub("LOCK"))
        #expect(try dir.names() == ["LOCK"])
    }

    @Test func locksOfDifferentNamesOrDirectoriesAreIndependent() throws {
        let dir = Scratch()
        try Sys.makeDirectories(dir.sub("a"))
        try Sys.makeDirectories(dir.sub("b/"))
        let a = try DirectoryLock(directory: dir.sub("a"), name: "LOCK")
        let b = try DirectoryLock(directory: dir.sub("b/"), name: "LOCK")
        let other = try DirectoryLock(directory: dir.sub("a"), name: "lock")
        #expect([a.path, b.path, other.path] == [dir.sub("a/LOCK"), dir.sub("b/LOCK"), dir.sub("a/lock")])
    }

    @Test func aMissingDirectoryIsAnOpenError() throws {
        let dir = Scratch()
        #expect(throws: SystemError(call: "open", path: dir.sub("none/LOCK"), errno: ENOENT)) {
            try DirectoryLock(directory: dir.sub("none"), name: "LOCK")
        }
    }
}
