#if canImport(Glibc)
import Glibc
#endif
@testable import SystemIO
import Testing

@Suite struct CodePagesTests {
    /// Only executable, private, file-backed mappings are advised: never data (written after
    /// relocation), the heap, stacks, anonymous memory or the vDSO.
    @Test func onlyFileBackedCodeIsReleasable() {
        let maps = """
            55af6a83d000-55af6b82d000 r-xp 00000000 fe:00 16394019                   /usr/local/bin/collectord
            55af6b82d000-55af6b897000 r--p 00fef000 fe:00 16394019                   /usr/local/bin/collectord
            55af6b897000-55af6bab5000 rw-p 01059000 fe:00 16394019                   /usr/local/bin/collectord
            55af6c000000-55af6c021000 rw-p 00000000 00:00 0                          [heap]
            7f2fd1028000-7f2fd117d000 r-xp 00028000 fe:00 1311 /usr/lib/x86_64-linux-gnu/libc.so.6
            7f2fd2000000-7f2fd2100000 rwxp 00000000 00:00 0
            7f2fd2f00000-7f2fd2f01000 r-xp 00000000 00:00 0
            7ffc1a3e6000-7ffc1a3e8000 r-xp 00000000 00:00 0                          [vdso]
            7ffc1a3c5000-7ffc1a3e6000 rw-p 00000000 00:00 0                          [stack]
            7f2fd3000000-7f2fd3001000 r-xp 00000000 fe:00 77 /opt/lib/a path with spaces.so
            """
        #expect(CodePages.releasable(maps) == [
            CodePages.Mapping(start: 0x55af6a83d000, end: 0x55af6b82d000, permissions: "r-xp", path: "/usr/local/bin/collectord"),
            CodePages.Mapping(start: 0x7f2fd1028000, end: 0x7f2fd117d000, permissions: "r-xp", path: "/usr/lib/x86_64-linux-gnu/libc.so.6"),
            CodePages.Mapping(start: 0x7f2fd3000000, end: 0x7f2fd3001000, permissions: "r-xp", path: "/opt/lib/a path with spaces.so"),
        ])
    }

    /// Releasing this very test process's code leaves it running: the code faults back in.
    @Test func releasingRunningCodeKeepsItRunning() throws {
        let advised = CodePages.release()
        #expect(advised > 0)
        var total = 0
        for i in 0..<1_000 { total &+= String(i).utf8.count }
        #expect(total == 2_890)
        let path = "/proc/self/status"
        let status = try #require(try Sys.readFile(path))
        #expect(String(decoding: status, as: UTF8.self).contains("VmRSS"))
    }
}
