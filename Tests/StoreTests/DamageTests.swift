import CollectorTesting
import Foundation
import OTLPCodec
import Store
import Testing
import Checksums

/// Random damage to every kind of file, including index damage with a recomputed checksum (so
/// that the structural checks behind the CRC are exercised): opening and querying never
/// crash, and whatever is served is well-formed.
@Suite struct DamageTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11 ^ state
        }
    }

    static func template() throws -> TempDirectory {
        let dir = TempDirectory("template")
        let store = try TraceStore(config: testConfig(dir.path))
        for t in 0..<6 {
            try store.append(kind: .spans, payload: OTLPBuild.traces([TestResource(service: "s\(t % 2)", items: traceSpans(t, count: 3))]), itemCount: 3)
            try store.append(kind: .logs, payload: OTLPBuild.logs([TestResource(service: "s", items: [
                TestLog(time: 1_000, traceID: traceID(t), body: "log \(t)"),
            ])]), itemCount: 1)
            if t == 3 {
                try store.rotate()
                store.waitForMaintenance()
            }
        }
        store.close()
        return dir
    }

    @Test func randomDamageNeverCrashes() throws {
        let template = try Self.template()
        let names = template.files()
        #expect(names == ["seg-0000000000000001.idx", "seg-0000000000000001.seg", "seg-0000000000000002.seg"])
        var rng = Generator(state: 7)
        for round in 0..<100 {
            let dir = TempDirectory("damage")
            for name in names {
                var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: template.file(name))))
                if Bool.random(using: &rng) {
                    for _ in 0..<Int.random(in: 1...4, using: &rng) where !bytes.isEmpty {
                        bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                    }
                    if name.hasSuffix(".idx"), bytes.count > 8, Bool.random(using: &rng) {
                        // Make the damaged index pass its checksum.
                        let crc = CRC32C.checksum(Array(bytes[..<(bytes.count - 8)]))
                        for k in 0..<4 { bytes[bytes.count - 8 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
                    }
                }
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    bytes.removeLast(Int.random(in: 0...bytes.count, using: &rng))
                }
                try Data(bytes).write(to: URL(fileURLWithPath: dir.file(name)))
            }
            let events = EventLog()
            let store = try TraceStore(config: testConfig(dir.path), onEvent: events.sink)
            for t in 0..<8 {
                if let trace = store.trace(id: traceID(t)) {
                    // Whatever comes back is well-formed and only of this trace.
                    #expect(try decodeSpans(trace.spans).allSatisfy { $0.traceID == hex(traceID(t)) }, "round \(round)")
                    #expect(try decodeLogs(trace.logs).allSatisfy { $0.traceID == hex(traceID(t)) }, "round \(round)")
                }
            }
            _ = store.search(limit: 0)
            _ = store.search(service: "s1", tags: ["error": "true"])
            _ = store.services()
            try store.append(kind: .spans, payload: OTLPBuild.traces([TestResource(service: "new", items: traceSpans(50, count: 2))]), itemCount: 2)
            #expect(store.trace(id: traceID(50)) != nil, "round \(round)")
            store.close()
        }
    }
}
