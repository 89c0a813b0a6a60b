import CollectorTesting
import CollectorCore
import Foundation
import Testing
@testable import FileLogReceiver

/// Random sequences of writes, rename rotations, copytruncates and restarts (clean and crash)
/// checked against the model "every line written arrives; repeats only after a crash".
@Suite struct RandomRotationTests {
    @Test(arguments: Array(1...6) as [UInt64])
    func randomActionsLoseNothing(seed: UInt64) throws {
        var rng = SplitMix64(state: seed)
        let dir = TempDir()
        let file = dir.sub("app.log")
        let settings = Harness.settings(dir, include: [dir.sub("app.log*")])
        var harnesses: [Harness] = [try Harness(settings)]
        var crashed: [Harness] = []
        var next = 0
        var rotation = 0
        for _ in 0..<40 {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<6:
                let n = Int.random(in: 1...20, using: &rng)
                Files.append(file, Files.lines(next..<(next + n)))
                next += n
            case 6:
                rotation += 1
                rename(file, file + ".\(rotation)")
            case 7:
                rotation += 1
                if let bytes = FileManager.default.contents(atPath: file) {
                    _ = FileManager.default.createFile(atPath: file + ".\(rotation)", contents: bytes)
                    truncate(file, 0)
                }
            case 8:
                harnesses.last!.stop()
                harnesses.append(try Harness(settings))
            default:
                if Bool.random(using: &rng) {
                    harnesses.last!.receiver.crash()
                    crashed.append(harnesses.last!)
                    harnesses.append(try Harness(settings))
                }
            }
            Thread.sleep(forTimeInterval: Double.random(in: 0...0.04, using: &rng))
        }
        let all = { harnesses.flatMap { lineNumbers($0.consumer.bodies) } }
        #expect(eventually(timeout: 15) { Set(all()).count >= next })
        Thread.sleep(forTimeInterval: 0.2)
        harnesses.last!.stop()
        let seen = all()
        let missing = Set(0..<next).subtracting(seen)
        #expect(missing.isEmpty, "missing \(missing.sorted())")
        let duplicates = seen.count - Set(seen).count
        if crashed.isEmpty {
            #expect(duplicates == 0, "no crash, so no repeats")
        }
        _ = crashed
    }
}
