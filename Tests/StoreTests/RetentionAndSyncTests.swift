import CollectorTesting
import Foundation
import Store
import Testing

@Suite struct RetentionAndSyncTests {
    static func payload(_ t: Int) -> [UInt8] {
        // Distinct names so that blocks do not compress to almost nothing.
        OTLPBuild.traces([TestResource(service: "s", items: (0..<20).map { i in
            TestSpan(traceID: traceID(t), spanID: spanID(t * 100 + i), name: "op-\(t)-\(i)-\(t * 7919 % 1000)",
                     start: UInt64(t * 1000 + i), end: UInt64(t * 1000 + i + 1))
        })])
    }

    @Test func retentionByBytesDeletesOldestSealedSegmentsDuringIngestion() throws {
        let dir = TempDirectory()
        let events = EventLog()
        var config = testConfig(dir.path, segmentMaxBytes: 4096)
        config.retentionMaxBytes = 16384
        let store = try TraceStore(config: config, onEvent: events.sink)
        for t in 0..<200 { try store.append(kind: .spans, payload: Self.payload(t), itemCount: 20) }
        store.waitForMaintenance()
        let stats = store.statistics()
        #expect(stats.bytes <= 16384)
        #expect(stats.deletedSegments > 0)
        let deleted = events.kinds.compactMap { kind -> String? in
            if case .deleted(let file, _, let reason) = kind, reason == "max_bytes" { return file }
            return nil
        }
        #expect(deleted.count == Int(stats.deletedSegments))
        // The oldest went first, in order, and are gone from disk with their indexes.
        #expect(deleted.first == dir.file("seg-0000000000000001.seg"))
        #expect(deleted == deleted.sorted())
        for file in deleted {
            #expect(!FileManager.default.fileExists(atPath: file))
            #expect(!FileManager.default.fileExists(atPath: file.replacingOccurrences(of: ".seg", with: ".idx")))
        }
        // Old traces are gone, recent ones whole.
        #expect(store.trace(id: traceID(0)) == nil)
        #expect(store.trace(id: traceID(199))?.spans == Self.payload(199))
        // What is on disk is what the store counts.
        let onDisk = dir.files().reduce(0) { $0 + dir.size($1) }
        #expect(UInt64(onDisk) == stats.bytes)
    }

    @Test func retentionByAgeUsesTheSealingTime() throws {
        let dir = TempDirectory()
        let clock = FakeClock()
        let events = EventLog()
        var config = testConfig(dir.path)
        config.retentionMaxAge = .seconds(3600)
        let store = try TraceStore(config: config, clock: clock.now, onEvent: events.sink)
        try store.append(kind: .spans, payload: Self.payload(1), itemCount: 20)
        try store.rotate()                      // segment 1 sealed at t0
        store.waitForMaintenance()
        let firstBytes = UInt64(dir.size("seg-0000000000000001.seg") + dir.size("seg-0000000000000001.idx"))
        clock.advance(.seconds(1800))
        try store.append(kind: .spans, payload: Self.payload(2), itemCount: 20)
        try store.rotate()                      // segment 2 sealed at t0 + 30 min
        store.waitForMaintenance()
        try store.append(kind: .spans, payload: Self.payload(3), itemCount: 20)
        clock.advance(.seconds(1799))
        store.runMaintenance()
        #expect(store.statistics().deletedSegments == 0)
        clock.advance(.seconds(1))
        store.runMaintenance()
        #expect(events.kinds.filter { if case .deleted = $0 { true } else { false } } == [
            .deleted(file: dir.file("seg-0000000000000001.seg"), bytes: firstBytes, reason: "max_age"),
        ])
        #expect(store.trace(id: traceID(1)) == nil)
        #expect(store.trace(id: traceID(2)) != nil)
        clock.advance(.seconds(1800))
        store.runMaintenance()
        #expect(store.trace(id: traceID(2)) == nil)
        // The active segment is never deleted, however old.
        clock.advance(.seconds(100_000))
        store.runMaintenance()
        #expect(store.trace(id: traceID(3))?.spans == Self.payload(3))
    }

    @Test func rotationByAge() throws {
        let dir = TempDirectory()
        let clock = FakeClock()
        var config = testConfig(dir.path)
        config.segmentMaxAge = .seconds(60)
        let store = try TraceStore(config: config, clock: clock.now)
        store.runMaintenance()
        try store.append(kind: .spans, payload: Self.payload(1), itemCount: 20)
        clock.advance(.seconds(59))
        store.runMaintenance()
        #expect(store.statistics().segments == 1)
        clock.advance(.seconds(1))
        store.runMaintenance()
        store.waitForMaintenance()
        #expect(store.statistics().segments == 2 && store.statistics().sealedSegments == 1)
        // An empty active segment is not rotated.
        clock.advance(.seconds(600))
        store.runMaintenance()
        #expect(store.statistics().segments == 2)
    }

    @Test func syncAlwaysFsyncsEveryAppend() throws {
        let dir = TempDirectory()
        var config = testConfig(dir.path)
        config.sync = .always
        let store = try TraceStore(config: config)
        for t in 0..<5 { try store.append(kind: .spans, payload: Self.payload(t), itemCount: 20) }
        #expect(store.statistics().fsyncs == 5)
    }

    @Test func syncIntervalFsyncsDirtySegmentsOnTheTimer() async throws {
        let dir = TempDirectory()
        var config = testConfig(dir.path)
        config.sync = .interval(.milliseconds(20))
        let store = try TraceStore(config: config)
        for t in 0..<5 { try store.append(kind: .spans, payload: Self.payload(t), itemCount: 20) }
        #expect(store.statistics().fsyncs == 0)
        var waited = 0
        while store.statistics().fsyncs == 0 && waited < 5000 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 10
        }
        #expect(store.statistics().fsyncs == 1)
        // Nothing written since: the timer does not fsync again.
        try await Task.sleep(for: .milliseconds(100))
        #expect(store.statistics().fsyncs == 1)
        try store.append(kind: .spans, payload: Self.payload(9), itemCount: 20)
        store.runMaintenance()
        #expect(store.statistics().fsyncs == 2)
        store.close()
        #expect(store.statistics().fsyncs == 3)
    }

    @Test func syncNoneNeverFsyncsOnTheWritePath() throws {
        let dir = TempDirectory()
        let store = try TraceStore(config: testConfig(dir.path))
        for t in 0..<5 { try store.append(kind: .spans, payload: Self.payload(t), itemCount: 20) }
        store.runMaintenance()
        store.close()
        #expect(store.statistics().fsyncs == 0)
    }

    @Test func invalidConfigIsRefusedWithEveryProblem() {
        var config = StoreConfig(directory: "")
        config.segmentMaxBytes = 10
        config.compressionLevel = 99
        config.sync = .interval(.zero)
        #expect(config.validate() == [
            "directory: must not be empty",
            "segment_max_bytes: must be at least 4096",
            "sync: interval must be positive",
            "compression_level: must be between -7 and 22",
        ])
        #expect(throws: StoreError.self) { try TraceStore(config: config) }
    }
}
