import CollectorCore
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import CollectorService

/// A reload keeps exporters whose settings did not change: the old (draining) and new stages
/// share one instance, which shuts down when the last of them lets go.
@Suite struct ExporterRegistryTests {
    struct Settings: ComponentSettings, Equatable { var endpoint: String }

    final class Recorder: Exporter {
        let log = Mutex<[String]>([])
        let name: String
        init(_ name: String) { self.name = name }
        func start() throws { log.withLock { $0.append("start") } }
        func export(_ batch: TelemetryBatch) throws(ComponentError) { log.withLock { $0.append("export \(batch.itemCount)") } }
        func shutdown() { log.withLock { $0.append("shutdown") } }
    }

    /// An in-memory aggregation, as the RED connectors are.
    final class Aggregator: Exporter {
        let got = Mutex<[[UInt8]]>([])
        func start() throws {}
        func export(_ batch: TelemetryBatch) throws(ComponentError) { got.withLock { $0.append(batch.payload) } }
        func shutdown() {}
        var exportsConcurrently: Bool { true }
        var readsParts: Bool { true }
        var exportsInline: Bool { true }
    }

    /// The handle a pipeline's stage holds says what its instance says, so a connector behind
    /// it is still fed inline (the handle once said it did not export concurrently, and no
    /// connector was).
    @Test func theHandleSaysWhatItsInstanceSays() throws {
        let registry = ExporterRegistry()
        let aggregator = Aggregator()
        let handle = try registry.acquire(try #require(ComponentID(parsing: "spanmetrics")), settings: Settings(endpoint: "")) { aggregator }
        #expect(handle.exportsInline && handle.exportsConcurrently && handle.readsParts)
        let plain = try registry.acquire(try #require(ComponentID(parsing: "loki")), settings: Settings(endpoint: "")) { Recorder("r") }
        #expect(!plain.exportsInline && !plain.exportsConcurrently && !plain.readsParts)
        let metrics = MetricsRegistry()
        let stage = ExporterStage(name: "spanmetrics", signal: .traces, exporter: handle, capacity: 4, metrics: metrics, logger: .discarding)
        let pipeline = Pipeline(name: "traces", signal: .traces, processors: [], exporters: [stage], capacity: 4,
                                metrics: metrics, logger: .discarding)
        try pipeline.start()
        #expect(pipeline.feedsInline)
        try pipeline.entry.consume(TelemetryBatch(signal: .traces, payload: [4, 2], itemCount: 1))
        #expect(aggregator.got.withLock { $0 } == [[4, 2]], "read before consume returned")
        let done = DispatchSemaphore(value: 0)
        pipeline.shutdown { done.signal() }
        done.wait()
        #expect(aggregator.got.withLock { $0 } == [[4, 2]])
        handle.shutdown()
        plain.shutdown()
    }

    @Test func unchangedSettingsShareOneInstanceUntilTheLastRelease() throws {
        let registry = ExporterRegistry()
        let id = try #require(ComponentID(parsing: "loki"))
        var made: [Recorder] = []
        func make(_ name: String) -> () throws -> any Exporter {
            { let r = Recorder(name); made.append(r); return r }
        }
        let old = try registry.acquire(id, settings: Settings(endpoint: "a"), make: make("first"))
        try old.start()
        // Reload with the same settings: the running instance, started once.
        let new = try registry.acquire(id, settings: Settings(endpoint: "a"), make: make("second"))
        try new.start()
        #expect(made.count == 1 && registry.count == 1)
        try old.export(TelemetryBatch(signal: .logs, payload: [], itemCount: 1, tokens: []))
        try new.export(TelemetryBatch(signal: .logs, payload: [], itemCount: 2, tokens: []))
        old.shutdown()   // the old pipeline drained
        old.shutdown()   // idempotent: does not release twice
        #expect(made[0].log.withLock { $0 } == ["start", "export 1", "export 2"])
        new.shutdown()
        #expect(made[0].log.withLock { $0 } == ["start", "export 1", "export 2", "shutdown"])
        #expect(registry.count == 0)
    }

    @Test func changedSettingsOrAnotherIDGetTheirOwnInstance() throws {
        let registry = ExporterRegistry()
        let loki = try #require(ComponentID(parsing: "loki"))
        let other = try #require(ComponentID(parsing: "loki/other"))
        let a = try registry.acquire(loki, settings: Settings(endpoint: "a")) { Recorder("a") }
        let b = try registry.acquire(loki, settings: Settings(endpoint: "b")) { Recorder("b") }
        let c = try registry.acquire(other, settings: Settings(endpoint: "a")) { Recorder("c") }
        #expect(registry.count == 3)
        for e in [a, b, c] { e.shutdown() }
        #expect(registry.count == 0)
    }

    /// Exports into one shared instance from two stages: serialized, unless the exporter says
    /// it takes concurrent calls.
    final class Overlap: Exporter {
        let concurrent: Bool
        let active = Atomic(0)
        let maximum = Atomic(0)
        init(concurrent: Bool) { self.concurrent = concurrent }
        func start() throws {}
        func shutdown() {}
        var exportsConcurrently: Bool { concurrent }
        func export(_ batch: TelemetryBatch) throws(ComponentError) {
            let now = active.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue
            _ = maximum.max(now, ordering: .sequentiallyConsistent)
            usleep(100_000)
            active.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        }
    }

    @Test(arguments: [false, true])
    func sharedExportsAreSerializedUnlessConcurrent(concurrent: Bool) throws {
        let registry = ExporterRegistry()
        let id = try #require(ComponentID(parsing: "store"))
        let instance = Overlap(concurrent: concurrent)
        let a = try registry.acquire(id, settings: Settings(endpoint: "x")) { instance }
        let b = try registry.acquire(id, settings: Settings(endpoint: "x")) { Overlap(concurrent: concurrent) }
        let group = DispatchGroup()
        for handle in [a, b] {   // two threads of their own, as two stages' queues would be
            group.enter()
            Thread {
                try? handle.export(TelemetryBatch(signal: .traces, payload: [], itemCount: 1, tokens: []))
                group.leave()
            }.start()
        }
        group.wait()
        #expect(instance.maximum.load(ordering: .sequentiallyConsistent) == (concurrent ? 2 : 1))
        a.shutdown()
        b.shutdown()
    }
}
