import CollectorCore
import Foundation
import Testing
import SystemIO
@testable import FileLogReceiver

@Suite struct TailingTests {
    @Test func startAtBeginningReadsExistingLines() throws {
        let dir = TempDir()
        let file = dir.sub("app.log")
        Files.append(file, Files.lines(0..<3))
        let h = try Harness(Harness.settings(dir, include: [dir.sub("*.log")], startAt: .beginning))
        defer { h.stop() }
        #expect(eventually { h.consumer.records.count >= 3 })
        #expect(lineNumbers(h.consumer.bodies) == [0, 1, 2])
        let r = h.consumer.records[0]
        #expect(r.attributes["log.file.name"] == "app.log")
        #expect(r.attributes["log.file.path"] == file)
        #expect(r.body == "line 00000 some payload text")
    }

    /// Each batch names its file as its origin (enrichment takes a pod's uid from the path).
    @Test func batchesCarryTheirFilesPathAsOrigin() throws {
        let dir = TempDir()
        Files.append(dir.sub("a.log"), Files.lines(0..<2))
        Files.append(dir.sub("b.log"), Files.lines(2..<4))   // different content: same would be one file (fingerprint)
        let h = try Harness(Harness.settings(dir, include: [dir.sub("*.log")], startAt: .beginning))
        defer { h.stop() }
        #expect(eventually { h.consumer.records.count >= 4 })
        let origins = h.consumer.state.withLock { $0.origins }
        #expect(!origins.isEmpty)
        #expect(origins.allSatisfy { $0.count == 1 && $0[0].resources >= 1 })
        #expect(Set(origins.compactMap { $0.first?.context.filePath }) == [dir.sub("a.log"), dir.sub("b.log")])
        #expect(origins.allSatisfy { $0.first?.context.peerAddress == nil })
    }

    /// As in Kubernetes with the docker runtime: the watched path is a symbolic link.
    @Test func resolvedFileNameAndPathFollowSymbolicLinks() throws {
        let dir = TempDir()
        try FileManager.default.createDirectory(atPath: dir.sub("real"), withIntermediateDirectories: true)
        Files.append(dir.sub("real/abc-json.log"), Files.lines(0..<1))
        try FileManager.default.createDirectory(atPath: dir.sub("pods"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir.sub("pods/0.log"), withDestinationPath: dir.sub("real/abc-json.log"))
        var s = Harness.settings(dir, include: [dir.sub("pods/*.log")])
        s.includeFileNameResolved = true
        s.includeFilePathResolved = true
        let h = try Harness(s)
        defer { h.stop() }
        #expect(eventually { h.consumer.records.count == 1 })
        let real = try #require(Sys.realPath(dir.sub("real/abc-json.log")))
        #expect(h.consumer.records.first?.attributes == [
            "log.file.name": "0.log", "log.file.path": dir.sub("pods/0.log"),
            "log.file.name_resolved": "abc-json.log", "log.file.path_resolved": real,
        ])
    }

    @Test func startAtEndSkipsExistingLinesButReadsNewOnes() throws {
        let dir = TempDir()
        let file = dir.sub("app.log")
        Files.append(file, Files.lines(0..<3))
        let h = try Harness(Harness.settings(dir, include: [dir.sub("*.log")], startAt: .end))
        defer { h.stop() }
        #expect(eventually { h.receiver.inspect { $0.files.count } == 1 })
        Files.append(file, Files.lines(3..<5))
        // A file created after start is read from its beginning.
        Files.append(dir.sub("new.log"), Files.lines(100..<102, prefix: "new"))
        #expect(eventually { h.consumer.records.count >= 4 })
        Thread.sleep(forTimeInterval: 0.1)
        #expect(lineNumbers(h.consumer.bodies).sorted() == [3, 4, 100, 101])
    }

    @Test func longLineIsCutAtMaxLogSizeAndCounted() throws {
        let dir = TempDir()
        var s = Harness.settings(dir, include: [dir.sub("*.log")])
        s.maxLogSize = 100
        Files.append(dir.sub("a.log"), "short\n" + String(repeating: "a", count: 300) + "\nafter\n")
        let h = try Harness(s)
        defer { h.stop() }
        #expect(eventually { h.consumer.records.count >= 3 })
        #expect(h.consumer.bodies == ["short", String(repeating: "a", count: 100), "after"])
        #expect(h.counter("collectord_filelog_lines_cut_total") == 1)
    }

    @Test func invalidUTF8IsReplacedAndCRLFStripped() throws {
        let dir = TempDir()
        Files.append(dir.sub("a.log"), [0x68, 0x69, 0xff, 0xfe, 0x0a, 0x6f, 0x6b, 0x0d, 0x0a, 0xc3, 0x0a])
        let h = try Harness(Harness.settings(dir, include: [dir.sub("*.log")]))
        defer { h.stop() }
        #expect(eventually { h.consumer.records.count >= 3 })
        #expect(h.consumer.bodies == ["hi\u{FFFD}\u{FFFD}", "ok", "\u{FFFD}"])
    }

    @Test func partialLastLineIsFlushedAfterForceFlushPeriod() throws {
        let dir = TempDir()
        Files.append(dir.sub("a.log"), "complete\nno newline")
        let h = try Harness(Harness.settings(dir, include: [dir.sub("*.log")]))
        defer { h.stop() }
        #expect(eventually { h.consumer.records.count >= 2 })
        #expect(h.consumer.bodies == ["complete", "no newline"])
    }

    @Test func multilineRecordsStartAtThePattern() throws {
        let dir = TempDir()
        var s = Harness.settings(dir, include: [dir.sub("*.log")])
        s.lineStartPattern = #"\d{4}-"#
        Files.append(dir.sub("a.log"), "2024-01 first\n  at frame 1\n  at frame 2\n2024-02 second\n2024-03 third\n")
        let h = try Harness(s)
        defer { h.stop() }
        #expect(eventually { h.consumer.records.count >= 3 })
        #expect(h.consumer.bodies == ["2024-01 first\n  at frame 1\n  at frame 2", "2024-02 second", "2024-03 third"])
    }

    @Test func multilineRecordsEndAtTheEndPattern() throws {
        let dir = TempDir()
        var s = Harness.settings(dir, include: [dir.sub("*.log")])
        s.lineEndPattern = #";$"#
        Files.append(dir.sub("a.log"), "SELECT *\n  FROM t\n  WHERE x = 1;\nVACUUM;\nunfinished\n")
        let h = try Harness(s)
        defer { h.stop() }
        #expect(eventually { h.consumer.records.count >= 3 })   // the last one by force flush
        #expect(h.consumer.bodies == ["SELECT *\n  FROM t\n  WHERE x = 1;", "VACUUM;", "unfinished"])
    }

    @Test func backpressureStopsReadingAndLosesNothing() throws {
        let dir = TempDir()
        let consumer = FakeConsumer()
        consumer.state.withLock { $0.refuse = true }
        var s = Harness.settings(dir, include: [dir.sub("*.log")])
        s.maxBatchRecords = 7
        Files.append(dir.sub("a.log"), Files.lines(0..<5000))   // several 64 KiB reads
        let h = try Harness(s, consumer: consumer)
        defer { h.stop() }
        #expect(eventually { consumer.state.withLock { $0.refusals } >= 3 })
        #expect(consumer.records.isEmpty)
        // Only the refused batch was read: reading stopped behind it.
        let offset = h.receiver.inspect { t in t.files.values.first?.readOffset ?? 0 } ?? 0
        #expect(offset <= 65_536, "reading stopped after the first chunk")
        Files.append(dir.sub("a.log"), Files.lines(5000..<5010))
        consumer.state.withLock { $0.refuse = false }
        #expect(eventually { consumer.records.count >= 5010 })
        Thread.sleep(forTimeInterval: 0.1)
        #expect(lineNumbers(consumer.bodies) == Array(0..<5010))
    }

    @Test func unreadableEntryIsReportedOnceAndOthersFlow() throws {
        let dir = TempDir()
        let bad = dir.sub("bad.log")
        // Root reads any file whatever its mode, so as root the unreadable entry is a directory
        // matching the glob (open works, it is not a regular file); otherwise a chmod 000 file.
        let root = getuid() == 0
        if root {
            try FileManager.default.createDirectory(atPath: bad, withIntermediateDirectories: false)
        } else {
            Files.append(bad, "secret\n")
            chmod(bad, 0)
        }
        Files.append(dir.sub("good.log"), Files.lines(0..<5))
        let h = try Harness(Harness.settings(dir, include: [dir.sub("*.log")]))
        defer { h.stop() }
        #expect(eventually { h.consumer.records.count >= 5 })
        Thread.sleep(forTimeInterval: 0.2)   // several more polls
        Files.append(dir.sub("good.log"), Files.lines(5..<8))
        #expect(eventually { h.consumer.records.count >= 8 })
        #expect(lineNumbers(h.consumer.bodies) == Array(0..<8))
        #expect(h.counter("collectord_filelog_read_errors_total") >= 1)
        let errors = h.log.lines.withLock { $0 }.filter { $0.hasPrefix("error") && $0.contains("bad.log") }
        #expect(errors.count == 1, "logged once: \(errors)")
    }

    @Test func jsonBodiesGiveTraceContextSeverityAndTime() throws {
        let dir = TempDir()
        var s = Harness.settings(dir, include: [dir.sub("*.log")])
        s.parseJSON = true
        Files.append(dir.sub("a.log"), """
        {"time":"2024-01-02T03:04:05.5Z","level":"error","msg":"boom","trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174"}
        {"msg":"no context","severity":"WARN"}
        not json {

        """)
        let h = try Harness(s)
        defer { h.stop() }
        #expect(eventually { h.consumer.records.count >= 3 })
        let r = h.consumer.records
        #expect(r[0].traceID == "5b8efff798038103d269b633813fc60c")
        #expect(r[0].spanID == "eee19b7ec3c1b174")
        #expect(r[0].severityText == "error" && r[0].severityNumber == 17)
        #expect(r[0].timeUnixNano == 1_704_164_645_500_000_000)
        #expect(r[1].traceID == "" && r[1].severityNumber == 13 && r[1].timeUnixNano == 0)
        #expect(r[2].body == "not json {" && r[2].severityText == "")
    }
}

/// A file that is far behind (or written faster than it can be shipped) takes turns with the
/// others instead of starving them.
@Suite struct FairnessTests {
    @Test func aHugeFileDoesNotStarveASmallOne() throws {
        let dir = TempDir()
        let huge = String(repeating: "h", count: 90)
        Files.append(dir.sub("a-huge.log"), (0..<40_000).map { "\(huge) \($0)\n" }.joined())   // ~3.8 MB
        Files.append(dir.sub("b-small.log"), Files.lines(0..<10))
        var s = Harness.settings(dir, include: [dir.sub("*.log")])
        s.maxInFlightBytes = 256 << 10   // throttles reading many times over
        let h = try Harness(s)
        defer { h.stop() }
        #expect(eventually(timeout: 30) { h.consumer.records.count == 40_010 })
        let paths = h.consumer.records.map { $0.attributes["log.file.name"] ?? "" }
        let firstSmall = try #require(paths.firstIndex(of: "b-small.log"))
        // Turns of 1 MiB: the small file is read after about a quarter of the huge one.
        #expect(firstSmall < 20_000, "the small file waited for \(firstSmall) records of the huge one")
    }
}
