import CollectorTesting
import Foundation
import OTLPCodec
import Store
import Testing
import Checksums

/// Committed segment files (`Fixtures/golden/`: one sealed segment with its index, one active
/// segment) that today's reader must keep reading, with the expected answers in
/// `Fixtures/golden-expected.txt`. `UPDATE_GOLDEN=1 swift test --filter GoldenTests` rewrites
/// both from `writeGoldenStore`; a format change then shows up as a diff to review.
@Suite struct GoldenTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let golden = fixtures.appendingPathComponent("golden")
    static let expected = fixtures.appendingPathComponent("golden-expected.txt")

    /// The deterministic content: segment 1 (sealed) holds two span blocks and a log block,
    /// segment 2 (active) one span block and one log block. Trace 1 spans both segments.
    static func writeGoldenStore(_ directory: String) throws {
        let clock = FakeClock(1_700_000_000_000_000_000)
        var config = testConfig(directory)
        config.compressionLevel = 3
        let store = try TraceStore(config: config, clock: clock.now)
        let base: UInt64 = 1_700_000_000_000_000_000
        func span(_ t: Int, _ s: Int, _ parent: Int?, _ name: String, _ start: UInt64, _ length: UInt64, error: Bool = false) -> TestSpan {
            TestSpan(traceID: traceID(t), spanID: spanID(t * 100 + s), parentSpanID: parent.map { spanID(t * 100 + $0) } ?? [],
                     name: name, start: base + start, end: base + start + length, error: error,
                     attributes: ["http.route": .string("/\(name)"), "attempt": .int(Int64(s))])
        }
        try store.append(kind: .spans, payload: OTLPBuild.traces([
            TestResource(service: "frontend", attributes: ["k8s.pod.name": .string("frontend-1")], items: [
                span(1, 0, nil, "GET /checkout", 0, 900_000), span(2, 0, nil, "GET /home", 50_000, 20_000),
            ]),
            TestResource(service: "cart", items: [span(1, 1, 0, "reserve", 100_000, 200_000, error: true)]),
        ]), itemCount: 3)
        try store.append(kind: .logs, payload: OTLPBuild.logs([TestResource(service: "cart", items: [
            TestLog(time: base + 150_000, traceID: traceID(1), spanID: spanID(101), body: "reservation failed"),
            TestLog(time: base + 160_000, body: "heartbeat"),
        ])]), itemCount: 2)
        clock.advance(.seconds(10))
        try store.append(kind: .spans, payload: OTLPBuild.traces([
            TestResource(service: "payment", items: [span(3, 0, nil, "POST /charge", 1_000_000, 400_000)]),
        ]), itemCount: 1)
        try store.rotate()
        store.waitForMaintenance()
        clock.advance(.seconds(10))
        try store.append(kind: .spans, payload: OTLPBuild.traces([
            TestResource(service: "payment", items: [span(1, 2, 0, "charge", 300_000, 500_000)]),
            TestResource(service: "frontend", attributes: ["k8s.pod.name": .string("frontend-1")], items: [
                span(4, 0, nil, "GET /home", 2_000_000, 10_000),
            ]),
        ]), itemCount: 2)
        try store.append(kind: .logs, payload: OTLPBuild.logs([TestResource(service: "payment", items: [
            TestLog(time: base + 350_000, traceID: traceID(1), spanID: spanID(102), body: "charged"),
        ])]), itemCount: 1)
        store.close()
    }

    /// Everything the reader answers about the store, as text.
    static func describe(_ store: TraceStore) throws -> String {
        var out = ""
        let stats = store.statistics()
        out += "segments \(stats.segments) sealed \(stats.sealedSegments) blocks \(stats.blocks) bytes \(stats.bytes)\n"
        out += "services \(store.services())\n"
        for service in store.services() { out += "operations \(service) \(store.operations(service: service))\n" }
        for t in 1...5 {
            guard let trace = store.trace(OTLPTraceID(bytes: traceID(t))!) else {
                out += "trace \(t): none\n"
                continue
            }
            out += "trace \(t): \(trace.spanCount) spans crc32c \(CRC32C.checksum(trace.spans)), "
            out += "\(trace.logCount) logs crc32c \(CRC32C.checksum(trace.logs))\n"
            for s in try decodeSpans(trace.spans) { out += "  span \(s)\n" }
            for l in try decodeLogs(trace.logs) { out += "  log \(l)\n" }
        }
        for s in store.search(limit: 0) { out += "search \(s)\n" }
        for s in store.search(service: "payment") { out += "search payment \(s)\n" }
        for s in store.search(tags: ["error": "true"]) { out += "search error=true \(s)\n" }
        for s in store.search(minDuration: .microseconds(500)) { out += "search >=500us \(s)\n" }
        return out
    }

    @Test func todaysReaderReadsTheGoldenSegments() throws {
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try? FileManager.default.removeItem(at: Self.golden)
            try FileManager.default.createDirectory(at: Self.golden, withIntermediateDirectories: true)
            try Self.writeGoldenStore(Self.golden.path)
            try FileManager.default.removeItem(at: Self.golden.appendingPathComponent("LOCK"))
            let copy = try Self.copyOfGolden()
            try Data(try Self.describe(TraceStore(config: testConfig(copy.path))).utf8).write(to: Self.expected)
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.golden.path).filter { $0 != "LOCK" }.sorted()
        #expect(names == ["seg-0000000000000001.idx", "seg-0000000000000001.seg", "seg-0000000000000002.seg"])
        let copy = try Self.copyOfGolden()
        let events = EventLog()
        let store = try TraceStore(config: testConfig(copy.path), onEvent: events.sink)
        #expect(events.all.isEmpty)
        let actual = try Self.describe(store)
        let expected = try String(contentsOf: Self.expected, encoding: .utf8)
        #expect(actual == expected, "golden answers differ (UPDATE_GOLDEN=1 regenerates)")
    }

    /// The reader opens a copy: opening may write (the active segment continues).
    static func copyOfGolden() throws -> TempDirectory {
        let dir = TempDirectory("golden")
        for name in try FileManager.default.contentsOfDirectory(atPath: golden.path) {
            try FileManager.default.copyItem(atPath: golden.appendingPathComponent(name).path, toPath: dir.file(name))
        }
        return dir
    }
}
