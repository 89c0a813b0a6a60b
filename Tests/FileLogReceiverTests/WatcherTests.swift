import CollectorCore
import Foundation
import Testing
@testable import FileLogReceiver

/// inotify: with a poll interval of a minute, only inotify events can make the receiver see
/// appended lines, new files and rotations within seconds.
@Suite struct WatcherTests {
    @Test func appendsNewFilesAndRotationsAreReadWithoutWaitingForThePoll() throws {
        let dir = TempDir()
        let file = dir.sub("app.log")
        Files.append(file, Files.lines(0..<2))
        var s = Harness.settings(dir, include: [dir.sub("*.log"), dir.sub("*.log.1")])
        s.pollInterval = 60_000_000_000
        s.rotateWait = 60_000_000_000
        let h = try Harness(s)
        defer { h.stop() }
        #expect(eventually { h.consumer.records.count == 2 })   // the first poll runs at start

        Files.append(file, Files.lines(2..<4))
        #expect(eventually(timeout: 5) { h.consumer.records.count == 4 }, "append seen through IN_MODIFY")

        // Created empty first, written later: the write must still lead to a discovery.
        let fd = open(dir.sub("new.log"), O_WRONLY | O_CREAT, 0o644)
        close(fd)
        Thread.sleep(forTimeInterval: 0.05)
        Files.append(dir.sub("new.log"), Files.lines(100..<102))
        #expect(eventually(timeout: 5) { h.consumer.records.count == 6 }, "new file seen through IN_CREATE + IN_MODIFY")

        try FileManager.default.moveItem(atPath: file, toPath: file + ".1")
        Files.append(file + ".1", Files.lines(4..<5))
        Files.append(file, Files.lines(5..<7))
        #expect(eventually(timeout: 5) { h.consumer.records.count == 9 }, "rotation seen through IN_MOVED_*")
        Thread.sleep(forTimeInterval: 0.1)
        #expect(lineNumbers(h.consumer.bodies).sorted() == [0, 1, 2, 3, 4, 5, 6, 100, 101])
        #expect(h.counter("collectord_filelog_rotations_total") == 1)
    }

    @Test func staticDirectoryOfPatterns() {
        #expect(DirectoryWatcher.staticDirectory("/var/log/pods/*/*/*.log") == "/var/log/pods")
        #expect(DirectoryWatcher.staticDirectory("/var/log/app.log") == "/var/log")
        #expect(DirectoryWatcher.staticDirectory("/*.log") == "/")
        #expect(DirectoryWatcher.staticDirectory("logs/a?/x.log") == "logs")
        #expect(DirectoryWatcher.staticDirectory("*.log") == ".")
    }
}

/// `**` in include patterns: any number of directories, including none.
@Suite struct DoubleStarTests {
    @Test func doubleStarMatchesAnyDepth() throws {
        let dir = TempDir()
        for sub in ["", "a", "a/b", "a/b/c", "d"] {
            try FileManager.default.createDirectory(atPath: dir.sub("logs/" + sub), withIntermediateDirectories: true)
            Files.append(dir.sub("logs/" + sub + (sub.isEmpty ? "" : "/") + "x.log"), "1\n")
            Files.append(dir.sub("logs/" + sub + (sub.isEmpty ? "" : "/") + "x.txt"), "1\n")
        }
        try FileManager.default.createSymbolicLink(atPath: dir.sub("logs/a/loop"), withDestinationPath: dir.sub("logs"))
        let found = PathGlob.glob(dir.sub("logs/**/*.log")).sorted()
        #expect(found == ["logs/a/b/c/x.log", "logs/a/b/x.log", "logs/a/x.log", "logs/d/x.log", "logs/x.log"].map { dir.sub($0) })
        #expect(PathGlob.glob(dir.sub("logs/**/b/*.log")) == [dir.sub("logs/a/b/x.log")])
        #expect(PathGlob.glob(dir.sub("logs/*/**/c/*.log")) == [dir.sub("logs/a/b/c/x.log")])

        // A receiver with such a pattern reads files at every depth.
        let h = try Harness(Harness.settings(dir, include: [dir.sub("logs/**/*.log")]))
        defer { h.stop() }
        #expect(eventually { h.consumer.records.count == 5 })
        #expect(Set(h.consumer.records.compactMap { $0.attributes["log.file.path"] }) == Set(found))
    }
}
