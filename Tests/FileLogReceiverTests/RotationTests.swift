import CollectorCore
import Foundation
import Testing
@testable import FileLogReceiver

@Suite struct RotationTests {
    @Test func renameRotationReadsEveryLineOnceInOrder() throws {
        let dir = TempDir()
        let file = dir.sub("app.log")
        Files.append(file, Files.lines(0..<20))
        let h = try Harness(Harness.settings(dir, include: [dir.sub("app.log*")]))
        defer { h.stop() }
        var next = 20
        for round in 1...3 {
            for _ in 0..<30 { Files.append(file, Files.lines(next..<(next + 1))); next += 1 }
            Thread.sleep(forTimeInterval: 0.06)   // let a poll find the file under its first name
            // The writer still holds the old file for a moment after the rename.
            let fd = open(file, O_WRONLY | O_APPEND)
            rename(file, file + ".\(round)")
            Thread.sleep(forTimeInterval: 0.03)
            let late = Array(Files.lines(next..<(next + 5)).utf8)
            late.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
            close(fd)
            next += 5
            Thread.sleep(forTimeInterval: 0.03)
        }
        Files.append(file, Files.lines(next..<(next + 10)))
        next += 10
        #expect(eventually { h.consumer.records.count >= next })
        Thread.sleep(forTimeInterval: 0.2)
        let numbers = lineNumbers(h.consumer.bodies)
        #expect(numbers.count == next, "no duplicates")
        #expect(numbers.sorted() == Array(0..<next), "no line lost")
        // Per file, in order.
        var perFile: [String: [Int]] = [:]
        for r in h.consumer.records { perFile[r.attributes["log.file.name"] ?? "", default: []].append(lineNumbers([r.body])[0]) }
        for (_, n) in perFile { #expect(n == n.sorted()) }
        #expect(h.counter("collectord_filelog_rotations_total") >= 3)
    }

    @Test func copytruncateWithCopyInGlobLosesNothing() throws {
        let dir = TempDir()
        let file = dir.sub("app.log")
        Files.append(file, Files.lines(0..<50))
        let h = try Harness(Harness.settings(dir, include: [dir.sub("app.log*")]))
        defer { h.stop() }
        #expect(eventually { h.consumer.records.count >= 50 })
        var next = 50
        for round in 1...3 {
            // Written just before the rotation: may be unread when the copy is made.
            Files.append(file, Files.lines(next..<(next + 10)))
            next += 10
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            if round > 1 { rename(file + ".1", file + ".\(round)") }   // keep older copies in the glob
            try bytes.write(to: URL(fileURLWithPath: file + ".1"))
            truncate(file, 0)
            Files.append(file, Files.lines(next..<(next + 20)))
            next += 20
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(eventually { h.consumer.records.count >= next })
        Thread.sleep(forTimeInterval: 0.2)
        let numbers = lineNumbers(h.consumer.bodies)
        #expect(numbers.sorted() == Array(0..<next), "no line lost")
        #expect(numbers.count == next, "no duplicates")
        #expect(h.counter("collectord_filelog_truncations_total") >= 3)
    }

    @Test func deletedFileIsFinishedFromTheOpenDescriptor() throws {
        let dir = TempDir()
        let file = dir.sub("app.log")
        Files.append(file, Files.lines(0..<5))
        let h = try Harness(Harness.settings(dir, include: [dir.sub("*.log")]))
        defer { h.stop() }
        #expect(eventually { h.consumer.records.count >= 5 })
        let fd = open(file, O_WRONLY | O_APPEND)
        unlink(file)
        let more = Array(Files.lines(5..<9).utf8)
        more.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
        close(fd)
        #expect(eventually { h.consumer.records.count >= 9 })
        #expect(lineNumbers(h.consumer.bodies) == Array(0..<9))
        #expect(eventually { h.receiver.inspect { $0.files.isEmpty } == true }, "closed after rotate_wait")
    }
}
