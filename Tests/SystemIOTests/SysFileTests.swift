import Glibc
import SystemIO
import Testing

@Suite struct SysFileTests {
    @Test func positionalWritesAndReadsRoundTrip() throws {
        let dir = Scratch()
        let path = dir.sub("data")
        let fd = try Sys.open(path, O_RDWR | O_CREAT)
        defer { Sys.close(fd) }
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try bytes.withUnsafeBytes { raw in try Sys.pwrite(fd, raw, at: 10, path: path) }
        #expect(try Sys.fstat(fd, path: path).size == 100_010)
        #expect(try Sys.pread(fd, count: 5, at: 10, path: path) == Array(bytes[0..<5]))
        // Past the end: fewer bytes, not an error.
        #expect(try Sys.pread(fd, count: 50, at: 100_000, path: path) == Array(bytes[99_990...]))
        #expect(try Sys.readFile(path) == [UInt8](repeating: 0, count: 10) + bytes)
        try Sys.ftruncate(fd, 12, path: path)
        try Sys.fdatasync(fd, path: path)
        #expect(try Sys.readFile(path) == [UInt8](repeating: 0, count: 10) + bytes[0..<2])
        #expect(try Sys.readFile(dir.sub("missing")) == nil)
    }

    @Test func errorsOfDescriptorCallsNameThePathGiven() throws {
        let dir = Scratch()
        let path = dir.sub("read-only")
        try dir.write("read-only", "abc")
        let fd = try Sys.open(path, O_RDONLY)
        defer { Sys.close(fd) }
        #expect(throws: SystemError(call: "write", path: path, errno: EBADF)) {
            try Sys.write(fd, [1], path: path)
        }
        #expect(throws: SystemError(call: "pwrite", path: path, errno: EBADF)) {
            try [UInt8(1)].withUnsafeBytes { raw in try Sys.pwrite(fd, raw, at: 0, path: path) }
        }
    }

    @Test func makeDirectoriesCreatesParentsAndNamesTheComponentThatFails() throws {
        let dir = Scratch()
        try Sys.makeDirectories(dir.sub("a/b/c"))
        try Sys.makeDirectories(dir.sub("a/b/c"))   // existing: fine
        #expect(try Sys.stat(dir.sub("a/b/c")).isDirectory)
        try dir.write("file", "x")
        #expect(throws: SystemError(call: "mkdir", path: dir.sub("file/sub"), errno: ENOTDIR)) {
            try Sys.makeDirectories(dir.sub("file/sub/deeper"))
        }
    }

    @Test func listAndEntriesSkipDotsAndTellDirectories() throws {
        let dir = Scratch()
        try Sys.makeDirectories(dir.sub("sub"))
        try dir.write("one", "1")
        try dir.write("two", "2")
        #expect(try dir.names() == ["one", "sub", "two"])
        let kinds = try Sys.entries(dir.path).sorted { $0.name < $1.name }.map { e in
            e.isDirectory ?? ((try? Sys.lstat(dir.sub(e.name)))?.isDirectory ?? false)
        }
        #expect(kinds == [false, true, false])
        #expect(throws: SystemError(call: "opendir", path: dir.sub("one"), errno: ENOTDIR)) {
            try Sys.list(dir.sub("one"))
        }
    }

    @Test func renameAndUnlinkNameBothPaths() throws {
        let dir = Scratch()
        try dir.write("from", "content")
        try Sys.rename(dir.sub("from"), dir.sub("to"))
        #expect(try dir.names() == ["to"])
        #expect(throws: SystemError(call: "rename", path: "\(dir.sub("from")) -> \(dir.sub("to"))", errno: ENOENT)) {
            try Sys.rename(dir.sub("from"), dir.sub("to"))
        }
        try Sys.unlink(dir.sub("to"))
        #expect(throws: SystemError(call: "unlink", path: dir.sub("to"), errno: ENOENT)) {
            try Sys.unlink(dir.sub("to"))
        }
        try Sys.fsyncDirectory(dir.path)
        #expect(try dir.names() == [])
    }

    @Test func statDescribesTheFile() throws {
        let dir = Scratch()
        try dir.write("f", "12345")
        let byPath = try Sys.stat(dir.sub("f"))
        let fd = try Sys.open(dir.sub("f"), O_RDONLY)
        defer { Sys.close(fd) }
        let byFD = try Sys.fstat(fd, path: dir.sub("f"))
        #expect(byPath == byFD)
        #expect(byPath.size == 5 && byPath.isRegular && !byPath.isDirectory && byPath.inode != 0)
        #expect(byPath.modified > 1_600_000_000 * 1_000_000_000)
        #expect(symlink(dir.sub("f"), dir.sub("link")) == 0)
        #expect(try Sys.lstat(dir.sub("link")).isRegular == false)
        #expect(try Sys.stat(dir.sub("link")).inode == byPath.inode)
        #expect(Sys.realPath(dir.sub("link")) == Sys.realPath(dir.sub("f")))
    }
}
