import CollectorCore
@testable import CollectorService
import Dispatch
import Synchronization
import Testing

@Suite struct StopOrderTests {
    private func pipelines(_ n: Int) -> [Pipeline] {
        (0..<n).map { Pipeline(name: "p\($0)", signal: .traces, processors: [], exporters: [], capacity: 2,
                               metrics: MetricsRegistry(), logger: .discarding) }
    }

    private func connection(_ up: [Int], _ down: [Int]) -> PipelineConnection {
        PipelineConnection(connector: ComponentID(type: "forward"), from: .traces, to: .traces, upstream: up, downstream: down)
    }

    /// Runs StopOrder with stops that finish only when the test says so; returns the log of
    /// "start pN" / "done" events and a way to finish a pipeline's stop.
    @Test func downstreamPipelinesStopAfterEveryPipelineFeedingThem() {
        // p0 -> p2, p1 -> p2, p2 -> p3; p4 is joined to nothing.
        let ps = pipelines(5)
        let events = Mutex<[String]>([])
        let finishers = Mutex<[String: @Sendable () -> Void]>([:])
        StopOrder.producersFirst(ps, connections: [connection([0, 1], [2]), connection([2], [3])], stop: { p, done in
            events.withLock { $0.append("stop \(p.name)") }
            finishers.withLock { $0[p.name] = done }
        }) { events.withLock { $0.append("all stopped") } }
        func finish(_ name: String) { finishers.withLock { $0[name] }!() }
        #expect(events.withLock { $0 } == ["stop p0", "stop p1", "stop p4"])
        finish("p0")
        #expect(events.withLock { $0.count } == 3)   // p2 still waits for p1
        finish("p1")
        #expect(events.withLock { $0.last } == "stop p2")
        finish("p4")
        finish("p2")
        #expect(events.withLock { $0.last } == "stop p3")
        finish("p3")
        #expect(events.withLock { $0 } == ["stop p0", "stop p1", "stop p4", "stop p2", "stop p3", "all stopped"])
    }

    @Test func withoutConnectorsAllStopAtOnce() {
        let ps = pipelines(3)
        let events = Mutex<[String]>([])
        StopOrder.producersFirst(ps, connections: [], stop: { p, done in
            events.withLock { $0.append(p.name) }
            done()
        }) { events.withLock { $0.append("all stopped") } }
        #expect(events.withLock { $0 } == ["p0", "p1", "p2", "all stopped"])
        let none = Mutex(false)
        StopOrder.producersFirst([], connections: [], stop: { _, _ in }) { none.withLock { $0 = true } }
        #expect(none.withLock { $0 })
    }
}
