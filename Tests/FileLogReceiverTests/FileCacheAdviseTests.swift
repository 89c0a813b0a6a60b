import CollectorCore
import Foundation
import Testing
@testable import FileLogReceiver

/// `file_cache_advise`: pages of a tailed file that were read and acknowledged leave the page
/// cache; with the switch off they stay. Residency is read with mincore(2).
@Suite struct FileCacheAdviseTests {
    /// A directory whose files' clean pages the kernel can drop (tmpfs cannot: its pages are
    /// the files), or nil.
    private func diskDirectory() -> TempDir? {
        for base in [NSTemporaryDirectory(), "/var/tmp/", FileManager.default.currentDirectoryPath + "/.build/"] {
            let dir = TempDir(base: base)
            let probe = dir.sub("probe")
            Files.append(probe, [UInt8](repeating: 7, count: 1 << 20))
            Self.sync(probe)
            let fd = open(probe, O_RDONLY)
            defer { close(fd) }
            _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
            if Self.residentPages(probe) == 0 { return dir }
        }
        return nil
    }

    static func sync(_ path: String) {
        let fd = open(path, O_RDONLY)
        fsync(fd)
        close(fd)
    }

    /// Pages of `path` in the page cache from byte `from` (a page boundary) to `limit` (the
    /// end when nil).
    static func residentPages(_ path: String, from: Int = 0, limit: Int? = nil) -> Int {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        let length = min(Int(st.st_size), limit ?? Int.max)
        guard length > 0, let map = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else { return -1 }
        defer { munmap(map, length) }
        let pages = (length + 4095) / 4096
        var vector = [UInt8](repeating: 0, count: pages)
        guard mincore(map, length, &vector) == 0 else { return -1 }
        return vector[(from / 4096)...].reduce(0) { $0 + Int($1 & 1) }
    }

    private func tail(advise: Bool) throws -> (before: Int, after: Int, pages: Int) {
        let dir = try #require(diskDirectory(), "no directory here whose page cache can be dropped")
        let file = dir.sub("app.log")
        // Appended a thousand lines at a time, as a program logs (one 2 MB write would make
        // large folios, which the kernel drops only whole).
        for k in 0..<60 { Files.append(file, Files.lines((k * 1000)..<((k + 1) * 1000))) }   // ~2.1 MB
        Self.sync(file)
        // Read it once, so every page is in the cache before tailing starts.
        _ = try Data(contentsOf: URL(fileURLWithPath: file))
        let pages = Self.residentPages(file)
        var s = Harness.settings(dir, include: [file])
        s.fileCacheAdvise = advise
        let h = try Harness(s)
        defer { h.stop() }
        #expect(eventually { h.consumer.records.count == 60_000 })
        // Everything but the last step (256 KiB) is advised once acknowledged; the first 256 KiB
        // are not counted: the fingerprint is read again after each read, and the kernel may
        // read ahead from there.
        let size = 60_000 * Files.lines(0..<1).utf8.count
        let advisedPart = size - Int(s.fileCacheAdviseStep) - 4096
        if advise { eventually { Self.residentPages(file, from: 256 << 10, limit: advisedPart) == 0 } }
        return (pages, Self.residentPages(file, from: 256 << 10, limit: advisedPart), (advisedPart + 4095) / 4096 - 64)
    }

    @Test func acknowledgedPagesLeaveThePageCache() throws {
        let (before, after, pages) = try tail(advise: true)
        #expect(before >= pages)
        #expect(after == 0)
    }

    @Test func withTheSwitchOffTheyStay() throws {
        let (before, after, pages) = try tail(advise: false)
        #expect(before >= pages)
        #expect(after == pages)
    }

    @Test func theKeyIsReadFromTheConfig() throws {
        let (off, problems) = try FileLogConfigTests().parse("include: [/x/*.log]\nfile_cache_advise: false\n")
        #expect(problems.isEmpty, "\(problems)")
        #expect(off.fileCacheAdvise == false)
        #expect(try FileLogConfigTests().parse("include: [/x/*.log]\n").0.fileCacheAdvise == true)
    }
}
