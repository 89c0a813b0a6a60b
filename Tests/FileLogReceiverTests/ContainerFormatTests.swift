import CollectorCore
import Foundation
import Testing
@testable import FileLogReceiver

@Suite struct ContainerFormatTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Tails the fixture `name`.log placed at a kubelet pod log path and compares with the golden file.
    func golden(_ name: String, format: FileLogSettings.Format) throws {
        let dir = TempDir()
        let podDir = dir.sub("var/log/pods/shop_cart-7d9f_0d1e2f3a-aaaa-bbbb/server")
        try FileManager.default.createDirectory(atPath: podDir, withIntermediateDirectories: true)
        let input = try Data(contentsOf: Self.fixtures.appendingPathComponent("\(name).log"))
        try input.write(to: URL(fileURLWithPath: podDir + "/0.log"))
        var s = Harness.settings(dir, include: [dir.sub("var/log/pods/*/*/*.log")])
        s.format = format
        let h = try Harness(s)
        defer { h.stop() }
        let expectedURL = Self.fixtures.appendingPathComponent("\(name).expected.txt")
        let expected = (try? String(contentsOf: expectedURL, encoding: .utf8)) ?? ""
        let wanted = expected.split(separator: "\n").count
        eventually(timeout: wanted > 0 ? 10 : 1) { wanted > 0 && h.consumer.records.count >= wanted }
        Thread.sleep(forTimeInterval: 0.2)
        let records = h.consumer.records
        let rendered = records.map { "\($0.timeUnixNano) \($0.attributes["log.iostream"] ?? "-") \($0.body.debugDescription)" }.joined(separator: "\n") + "\n"
        if ProcessInfo.processInfo.environment["FILELOG_REGENERATE"] == "1" {
            try rendered.write(to: expectedURL, atomically: true, encoding: .utf8)
        }
        #expect(rendered == expected)
        for r in records {
            #expect(r.resource == ["k8s.namespace.name": "shop", "k8s.pod.name": "cart-7d9f",
                                   "k8s.pod.uid": "0d1e2f3a-aaaa-bbbb", "k8s.container.name": "server"])
        }
    }

    @Test func criGolden() throws { try golden("cri", format: .cri) }
    @Test func dockerGolden() throws { try golden("docker", format: .docker) }
    /// The `container` operator without `format` tells the two apart line by line.
    @Test func autoDetectedFormatsMatchTheSameGoldens() throws {
        try golden("cri", format: .auto)
        try golden("docker", format: .auto)
    }

    /// Interleaved partials are joined per stream, and no record's end offset passes a line
    /// still held for the other stream (so a checkpoint never skips it).
    @Test func interleavedPartialsJoinPerStreamAndHoldTheCheckpointBack() {
        var assembler = RecordAssembler(mode: .cri, maxSize: 1 << 20)
        var out: [LogEntry] = []
        let lines = [
            "2024-01-02T03:04:10.1Z stderr P err one, ", "2024-01-02T03:04:10.2Z stdout F out whole",
            "2024-01-02T03:04:10.3Z stderr F err two", "2024-01-02T03:04:10.4Z stdout F out again",
        ]
        var offset: Int64 = 100
        for text in lines {
            let bytes = Array(text.utf8)
            let end = offset + Int64(bytes.count) + 1
            assembler.add(LineSplitter.Line(bytes: bytes, endOffset: end, cut: false, startOffset: offset), into: &out)
            offset = end
        }
        #expect(out.map { String(decoding: $0.body, as: UTF8.self) } == ["out whole", "err one, err two", "out again"])
        #expect(out.map(\.endOffset) == [100, 100 + Int64(lines[0].utf8.count + lines[1].utf8.count + lines[2].utf8.count) + 3, offset])
        #expect(out.map { $0.attributes.first?.1 } == ["stdout", "stderr", "stdout"])
        #expect(!assembler.holdsRecord)
    }

    /// A partial whose continuation never comes is emitted once its stream has been quiet for
    /// the force-flush period, even while the other stream keeps the file busy.
    @Test func aStalePartialIsFlushedWhileTheOtherStreamIsBusy() {
        var assembler = RecordAssembler(mode: .cri, maxSize: 1 << 20)
        var out: [LogEntry] = []
        func line(_ text: String, _ start: Int64, at now: UInt64) {
            let bytes = Array(text.utf8)
            assembler.add(LineSplitter.Line(bytes: bytes, endOffset: start + Int64(bytes.count) + 1, cut: false, startOffset: start),
                          now: now, into: &out)
        }
        line("2024-01-02T03:04:10.1Z stderr P never finished", 0, at: 0)
        line("2024-01-02T03:04:10.2Z stdout F busy 1", 100, at: 200_000_000)
        assembler.flushStale(now: 200_000_000, olderThan: 500_000_000, into: &out)
        #expect(out.map { String(decoding: $0.body, as: UTF8.self) } == ["busy 1"])
        #expect(out[0].endOffset == 0, "held back by the stderr partial")
        line("2024-01-02T03:04:10.7Z stdout F busy 2", 200, at: 700_000_000)
        assembler.flushStale(now: 700_000_000, olderThan: 500_000_000, into: &out)
        #expect(out.map { String(decoding: $0.body, as: UTF8.self) } == ["busy 1", "busy 2", "never finished"])
        #expect(out.map(\.endOffset) == [0, 0, 200 + 38 + 1], "the last record covers every line read")
        #expect(!assembler.holdsRecord)
    }

    /// A line in another format flushes what is held: the flushed record must not cover that
    /// line, which is sent after it (a batch boundary may fall between the two).
    @Test func aFlushedPartialDoesNotCoverTheLineThatFlushedIt() {
        var assembler = RecordAssembler(mode: .cri, maxSize: 1 << 20)
        var out: [LogEntry] = []
        let partial = Array("2024-01-02T03:04:10.1Z stdout P held".utf8)
        assembler.add(LineSplitter.Line(bytes: partial, endOffset: Int64(partial.count) + 1, cut: false, startOffset: 0), into: &out)
        let plain = Array("not a cri line".utf8)
        let start = Int64(partial.count) + 1
        assembler.add(LineSplitter.Line(bytes: plain, endOffset: start + Int64(plain.count) + 1, cut: false, startOffset: start), into: &out)
        #expect(out.map { String(decoding: $0.body, as: UTF8.self) } == ["held", "not a cri line"])
        #expect(out[0].endOffset == start, "the flushed partial ends where the next line starts")
        #expect(out[1].endOffset == start + Int64(plain.count) + 1)
    }

    @Test func kubernetesPathParsing() {
        #expect(KubernetesPath.attributes("/var/log/pods/ns_pod_uid/c/0.log").map(\.1) == ["ns", "pod", "uid", "c"])
        #expect(KubernetesPath.attributes("/var/log/containers/x.log").isEmpty)
        #expect(KubernetesPath.attributes("/var/log/pods/bad/c/0.log").isEmpty)
    }

    @Test func timestamps() {
        #expect(TimestampParser.parse(Array("1970-01-01T00:00:01.5Z".utf8)) == 1_500_000_000)
        #expect(TimestampParser.parse(Array("2024-01-02T03:04:05.123456789Z".utf8)) == 1_704_164_645_123_456_789)
        #expect(TimestampParser.parse(Array("2024-01-02T05:04:05+02:00".utf8)) == 1_704_164_645_000_000_000)
        #expect(TimestampParser.parse(Array("2024-13-02T03:04:05Z".utf8)) == nil)
        #expect(TimestampParser.parse(Array("garbage".utf8)) == nil)
    }

    /// Found by fuzzing (Fuzz/corpus/FuzzFileLog/regression-timestamp-overflow): a time past
    /// 2554 overflowed the nanosecond count and trapped, so one CRI line, docker line or JSON
    /// `time` field crashed the collector. It is now no time: the line is passed on whole.
    @Test func timestampsPastUInt64NanosecondsAreNoTime() {
        #expect(TimestampParser.parse(Array("2554-07-21T23:34:33.709551615Z".utf8)) == UInt64.max)
        #expect(TimestampParser.parse(Array("2554-07-21T23:34:33.709551616Z".utf8)) == nil)
        #expect(TimestampParser.parse(Array("4329-01-02T03:04:07Z".utf8)) == nil)
        #expect(TimestampParser.parse(Array("9999-12-31T23:59:60.999999999-23:59".utf8)) == nil)
        let line = Array("9999-01-02T03:04:07Z stderr F an error".utf8)
        #expect(ContainerLine.cri(line) == nil)
        let docker = ContainerLine.docker(Array(#"{"log":"x\n","stream":"stdout","time":"9999-01-02T03:04:07Z"}"#.utf8))
        #expect(docker?.time == 0)
        #expect(docker?.message == Array("x".utf8))
        var entry = LogEntry(body: Array(#"{"time":"3000-01-01T00:00:00Z","level":"info"}"#.utf8), endOffset: 1)
        JSONBody.enrich(&entry)
        #expect(entry.timeUnixNano == 0)
        #expect(entry.severityText == "info")
    }
}
