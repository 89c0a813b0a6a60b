import Foundation
import Glibc
@testable import ExporterHelper
import Testing

/// The disk queue when a new segment cannot be made: the records still go to the active
/// segment, and no descriptor the queue closed is ever written to or closed again (issue 11:
/// it used to close its active segment, fail to start the next one with ENOSPC, and then write
/// to and close that number, by then a client's socket).
@Suite struct DiskQueueFullDiskTests {
    static func payload(_ i: Int) -> [UInt8] { Array("record-\(i)-".utf8) + [UInt8](repeating: UInt8(i & 0xff), count: 300) }

    /// Whether `fd` is open, and how many bytes wait to be read from it (a pipe).
    static func pipeState(_ fd: Int32) -> (open: Bool, unread: Int32) {
        var n: Int32 = 0
        let open = fcntl(fd, F_GETFD) >= 0
        _ = ioctl(fd, UInt(FIONREAD), &n)
        return (open, n)
    }

    @Test func aSegmentThatCannotBeStartedLeavesTheQueueAndOtherDescriptorsWhole() throws {
        let dir = NSTemporaryDirectory() + "loki-full-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let queue = try DiskQueue(directory: dir, segmentMaxBytes: 1024, sync: true)
        try queue.append(Self.payload(0))
        // Every next segment's name is taken by a directory: opening it for writing fails.
        let active = try #require(try DiskQueue.segments(dir).last?.0)
        let blocked = (active + 1...active + 4)
        for n in blocked { try FileManager.default.createDirectory(atPath: DiskQueue.segmentPath(dir, n), withIntermediateDirectories: false) }
        try queue.append(Self.payload(1))
        try queue.append(Self.payload(2))
        try queue.append(Self.payload(3))
        #expect(queue.rolloverFailures >= 1)
        // A descriptor opened now gets the lowest free number: the one the old code had closed.
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { Glibc.close(fds[0]); Glibc.close(fds[1]) }
        for i in 4..<10 { try queue.append(Self.payload(i)) }
        #expect(Self.pipeState(fds[0]).open && Self.pipeState(fds[1]).open, "the queue closed a descriptor it does not own")
        #expect(Self.pipeState(fds[0]).unread == 0, "the queue wrote into someone else's descriptor")
        // Nothing was lost: every record is there, in order.
        let waiting = try queue.peek(maxBytes: 1 << 20)
        #expect(waiting == (0..<10).map(Self.payload))
        // Room again: the next rollover starts a segment.
        for n in blocked { try FileManager.default.removeItem(atPath: DiskQueue.segmentPath(dir, n)) }
        try queue.append(Self.payload(10))
        #expect(FileManager.default.fileExists(atPath: DiskQueue.segmentPath(dir, active + 1)))
        #expect(try queue.peek(maxBytes: 1 << 20) == (0...10).map(Self.payload))
        queue.close()
        // And a restart recovers all of it. (It may wait a moment for the lock: a child another
        // test of this process is spawning holds every descriptor until its exec.)
        let reopened = try DiskQueue(directory: dir, segmentMaxBytes: 1024, sync: true, lockWait: 2_000_000_000)
        #expect(try reopened.peek(maxBytes: 1 << 20) == (0...10).map(Self.payload))
        reopened.close()
    }

    /// A real full filesystem (a 256 KiB tmpfs; needs root, as CI and `make test` run): appends
    /// fail with ENOSPC and are reported, the queue's records so far stay readable, no foreign
    /// descriptor is touched, and appends work again once space is freed.
    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func aFullTmpfs() throws {
        let dir = NSTemporaryDirectory() + "loki-tmpfs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let mounted = Process()
        mounted.executableURL = URL(fileURLWithPath: "/bin/mount")
        mounted.arguments = ["-t", "tmpfs", "-o", "size=256k", "tmpfs", dir]
        try mounted.run()
        mounted.waitUntilExit()
        try #require(mounted.terminationStatus == 0, "mount -t tmpfs failed")
        defer {
            let u = Process()
            u.executableURL = URL(fileURLWithPath: "/bin/umount")
            u.arguments = [dir]
            try? u.run()
            u.waitUntilExit()
        }
        let queue = try DiskQueue(directory: dir + "/q", segmentMaxBytes: 16 * 1024, sync: true)
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { Glibc.close(fds[0]); Glibc.close(fds[1]) }
        var stored = 0
        var failures: [String] = []
        for i in 0..<2000 {
            do {
                try queue.append(Self.payload(i))
                stored = i + 1
            } catch {
                failures.append(error.description)
                if failures.count >= 20 { break }
            }
        }
        #expect(!failures.isEmpty && failures.allSatisfy { $0.contains("No space left on device") }, "\(failures.prefix(2))")
        #expect(Self.pipeState(fds[0]).open && Self.pipeState(fds[1]).open && Self.pipeState(fds[0]).unread == 0)
        let waiting = try queue.peek(maxBytes: 1 << 20)
        #expect(waiting.count == stored && waiting == (0..<stored).map(Self.payload))
        // Delivered and committed: space comes back and appends succeed again.
        try queue.commit(count: waiting.count)
        var recovered = false
        for i in 0..<50 {
            if (try? queue.append(Self.payload(5000 + i))) != nil { recovered = true; break }
        }
        #expect(recovered)
        queue.close()
    }
}
