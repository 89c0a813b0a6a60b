import CollectorCore
import Foundation
import Testing
@testable import FileLogReceiver

@Suite struct CheckpointTests {
    @Test func cleanRestartResumesWithoutRepeating() throws {
        let dir = TempDir()
        let file = dir.sub("app.log")
        Files.append(file, Files.lines(0..<10))
        let s = Harness.settings(dir, include: [dir.sub("*.log")])
        let first = try Harness(s)
        #expect(eventually { first.consumer.records.count >= 10 })
        first.stop()
        Files.append(file, Files.lines(10..<15))
        let second = try Harness(s)
        defer { second.stop() }
        #expect(eventually { second.consumer.records.count >= 5 })
        Thread.sleep(forTimeInterval: 0.15)
        #expect(lineNumbers(first.consumer.bodies) == Array(0..<10))
        #expect(lineNumbers(second.consumer.bodies) == Array(10..<15), "no repeat after a clean stop")
    }

    /// A file in the middle of a rename when the first listing after a start runs is found by a
    /// later poll, and still resumes at its checkpointed offset.
    @Test func aFileFoundAfterTheFirstPollResumesFromTheCheckpoint() throws {
        let dir = TempDir()
        let file = dir.sub("app.log")
        Files.append(file, Files.lines(0..<10))
        let s = Harness.settings(dir, include: [dir.sub("app.log*")])
        let first = try Harness(s)
        #expect(eventually { first.consumer.records.count >= 10 })
        first.stop()
        try FileManager.default.moveItem(atPath: file, toPath: dir.sub("renaming"))   // matches no glob
        let second = try Harness(s)
        defer { second.stop() }
        Thread.sleep(forTimeInterval: 0.1)   // several polls without the file
        Files.append(dir.sub("renaming"), Files.lines(10..<12))
        try FileManager.default.moveItem(atPath: dir.sub("renaming"), toPath: dir.sub("app.log.1"))
        #expect(eventually { second.consumer.records.count >= 2 })
        Thread.sleep(forTimeInterval: 0.15)
        #expect(lineNumbers(second.consumer.bodies) == [10, 11], "resumed, not read again from its start")
    }

    @Test func crashRepeatsOnlyTheUnacknowledgedBatch() throws {
        let dir = TempDir()
        let file = dir.sub("app.log")
        Files.append(file, Files.lines(0..<10))
        let s = Harness.settings(dir, include: [dir.sub("*.log")])
        let first = try Harness(s)
        #expect(eventually { first.consumer.records.count >= 10 })
        // The checkpoint is written when the acknowledgement arrives.
        #expect(eventually { first.receiver.inspect { $0.files.values.first?.inFlight.isEmpty } == true })
        first.consumer.state.withLock { $0.holdAcks = true }
        Files.append(file, Files.lines(10..<15))
        #expect(eventually { first.consumer.records.count >= 15 })
        first.receiver.crash()
        Files.append(file, Files.lines(15..<18))
        let second = try Harness(s)
        defer { second.stop() }
        #expect(eventually { second.consumer.records.count >= 8 })
        Thread.sleep(forTimeInterval: 0.15)
        #expect(lineNumbers(second.consumer.bodies) == Array(10..<18), "only the in-flight batch repeats")
    }

    @Test func restartAfterRotationWhileStoppedContinuesTheRenamedFile() throws {
        let dir = TempDir()
        let file = dir.sub("app.log")
        Files.append(file, Files.lines(0..<10))
        let s = Harness.settings(dir, include: [dir.sub("app.log*")], startAt: .end)
        let first = try Harness(s)
        #expect(eventually { first.receiver.inspect { $0.files.count } == 1 })
        Files.append(file, Files.lines(10..<12))
        #expect(eventually { first.consumer.records.count >= 2 })
        first.stop()
        // While stopped: more lines, a rename rotation, and a new file.
        Files.append(file, Files.lines(12..<15))
        rename(file, file + ".1")
        Files.append(file, Files.lines(15..<20))
        let second = try Harness(s)
        defer { second.stop() }
        #expect(eventually { second.consumer.records.count >= 8 })
        Thread.sleep(forTimeInterval: 0.15)
        #expect(lineNumbers(second.consumer.bodies).sorted() == Array(12..<20))
    }

    @Test func inodeReuseWithDifferentContentIsANewFile() throws {
        let dir = TempDir()
        let file = dir.sub("app.log")
        Files.append(file, Files.lines(0..<10))
        let s = Harness.settings(dir, include: [dir.sub("*.log")])
        let first = try Harness(s)
        #expect(eventually { first.consumer.records.count >= 10 })
        first.stop()
        // Replace the content in place (same inode, other first bytes, longer than before).
        truncate(file, 0)
        Files.append(file, Files.lines(100..<130, prefix: "other"))
        let second = try Harness(s)
        defer { second.stop() }
        #expect(eventually { second.consumer.records.count >= 30 })
        #expect(lineNumbers(second.consumer.bodies) == Array(100..<130))
    }

    @Test func checkpointFileRoundTrips() throws {
        var c = Checkpoint()
        c.entries = [.init(fingerprint: [0, 1, 0xab, 0xff], path: "/var/log/a \"b\".log", device: 2049, inode: UInt64.max, offset: 12345)]
        let bytes = c.encoded()
        #expect(Checkpoint.decode(bytes) == c)
        #expect(String(decoding: bytes, as: UTF8.self).contains("\"fingerprint\":\"0001abff\""))
        #expect(Checkpoint.decode(Array("{\"version\":2,\"files\":[]}".utf8)) == nil)
    }
}
