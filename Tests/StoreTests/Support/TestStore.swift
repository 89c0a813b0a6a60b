import CollectorTesting
import Foundation
import Store
import Synchronization

/// A directory under the system temp directory, removed when released.
final class TempDirectory: Sendable {
    let path: String

    init(_ label: String = "store") {
        path = NSTemporaryDirectory() + "storetests-\(label)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    /// File names, sorted, without the store's (empty) LOCK file.
    func files() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0 != "LOCK" }.sorted()
    }

    func size(_ name: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: file(name)))?[.size] as? Int) ?? -1
    }
}

/// Collects a store's events.
final class EventLog: Sendable {
    private let events = Mutex<[StoreEvent]>([])

    var sink: @Sendable (StoreEvent) -> Void {
        { event in self.events.withLock { $0.append(event) } }
    }

    var all: [StoreEvent] { events.withLock { $0 } }
    var kinds: [StoreEvent.Kind] { all.map(\.kind) }
    /// Events other than routine ones (sealing, deletions, leftovers).
    var problems: [StoreEvent] { all.filter { $0.severity != .info } }

    func clear() { events.withLock { $0.removeAll() } }
}

/// A clock the test moves by hand.
final class FakeClock: Sendable {
    private let value: Atomic<UInt64>

    init(_ start: UInt64 = 1_700_000_000_000_000_000) { value = Atomic(start) }

    var now: @Sendable () -> UInt64 { { self.value.load(ordering: .relaxed) } }

    func advance(_ d: Duration) {
        let (s, a) = d.components
        value.add(UInt64(s) * 1_000_000_000 + UInt64(a / 1_000_000_000), ordering: .relaxed)
    }
}

/// A config for tests: no timer-driven rotation or retention unless asked, no fsync.
func testConfig(_ directory: String, segmentMaxBytes: UInt64 = 1 << 20) -> StoreConfig {
    var c = StoreConfig(directory: directory)
    c.segmentMaxBytes = segmentMaxBytes
    c.segmentMaxAge = nil
    c.retentionMaxBytes = nil
    c.retentionMaxAge = nil
    c.sync = .none
    return c
}

/// Spans of one trace `t` with `count` spans named op0..., span 0 the root, under `service`.
func traceSpans(_ t: Int, count: Int, service: String = "svc", start: UInt64 = 1_000, firstSpan: Int = 0) -> [TestSpan] {
    (firstSpan..<(firstSpan + count)).map { i in
        TestSpan(traceID: traceID(t), spanID: spanID(t * 1000 + i), parentSpanID: i == 0 ? [] : spanID(t * 1000),
                 name: "op\(i)", start: start + UInt64(i) * 10, end: start + UInt64(i) * 10 + 5)
    }
}
