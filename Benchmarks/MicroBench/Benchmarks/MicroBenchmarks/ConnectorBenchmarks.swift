import Benchmark
import CollectorCore
import ServiceGraphConnector
import SpanMetricsConnector

// The connectors live from one measured closure call to the next (their tables fill once, then
// every span finds its series). nonisolated(unsafe): package-benchmark calls setup, the closure
// and teardown of one benchmark one after another on one thread.
nonisolated(unsafe) private var connectors: [any Exporter] = []

/// The RED connectors (issue 13) on the load tests' request, apart from the network and the
/// rest of the pipeline: what `Benchmarks/spanmetrics.sh` adds to `batch -> nop`, per span.
/// One iteration = the 1,000-span request exported to the connector(s); nanoseconds per span =
/// the time of one iteration / 1,000. The metrics they make go to a consumer that drops them
/// (no flush runs during a measurement: the flush interval is an hour).
func connectorBenchmarks() {
    connectorBenchmark("spanmetrics export (1,000-span request, bench-spanmetrics-config.yaml's dimensions)") { [spanMetrics()] }
    connectorBenchmark("servicegraph export (1,000-span request)") { [serviceGraph()] }
    connectorBenchmark("spanmetrics + servicegraph export (1,000-span request)") { [spanMetrics(), serviceGraph()] }
}

private func connectorBenchmark(_ name: String, make: @escaping () -> [any Exporter]) {
    Benchmark(name) { benchmark in
        let batch = TelemetryBatch(signal: .traces, payload: request, itemCount: 1000)
        for _ in benchmark.scaledIterations {
            for connector in connectors { try connector.export(batch) }
        }
    } setup: {
        connectors = make()
    } teardown: {
        connectors = []
    }
}

private final class Drop: Consumer {
    func consume(_ batch: TelemetryBatch) throws(ComponentError) {}
}

private func context(_ type: String) -> ComponentContext {
    ComponentContext(id: ComponentID(type: type), kind: .connector, metrics: MetricsRegistry(), logger: .discarding,
                     config: .empty, host: ComponentHost())
}

private func spanMetrics() -> any Exporter {
    var settings = SpanMetricsSettings()
    settings.dimensions = ["client.address", "network.peer.address", "db.response.returned_rows"].map { .init(name: $0) }
    settings.flushInterval = 3_600_000_000_000
    return try! SpanMetricsFactory().makeConnector(settings, from: .traces, to: .metrics, context: context("spanmetrics"), next: Drop())
}

private func serviceGraph() -> any Exporter {
    var settings = ServiceGraphSettings()
    settings.flushInterval = 3_600_000_000_000
    return try! ServiceGraphFactory().makeConnector(settings, from: .traces, to: .metrics, context: context("servicegraph"), next: Drop())
}
