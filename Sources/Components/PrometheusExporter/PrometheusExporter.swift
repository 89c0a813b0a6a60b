import CollectorCore
import Dispatch
import OTLPCodec
import Synchronization
import Transport

/// The `prometheus` exporter: serves the metrics it is sent at `http://<endpoint>/metrics` for
/// Prometheus to scrape. `export` folds each batch into the `MetricStore` (under a mutex) and
/// returns: the data is durable as far as a pull exporter can make it. A scrape renders the
/// store (text format, or OpenMetrics with `enable_open_metrics` when the scraper's Accept
/// asks for it). The old and new instances of one exporter across a reload share the
/// endpoint's server: the new one takes the scrapes over on the same port (`PrometheusListener`).
final class PrometheusExporter: Exporter {
    private final class State: Sendable {
        let store: Mutex<MetricStore>
        init(_ store: MetricStore) { self.store = Mutex(store) }
    }

    private let settings: PrometheusSettings
    private let name: String
    private let state: State
    /// The endpoint's server, shared with an exporter of the same endpoint that a reload is
    /// replacing (see `PrometheusListener`).
    private let listener: PrometheusListener
    private let listenerID: UInt64
    private let clock: any MonotonicClock
    private let logger: Logger
    private let metrics: MetricsRegistry
    private let gaugeID: UInt64

    init(settings: PrometheusSettings, name: String, metrics: MetricsRegistry, logger: Logger,
         clock: any MonotonicClock = SystemClock()) throws {
        self.settings = settings
        self.name = name
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
        let state = State(MetricStore(settings: settings))
        self.state = state
        let endpoint: Endpoint
        do { endpoint = try Endpoint(parsing: settings.endpoint) } catch {
            throw ComponentError.permanent("\(name): invalid endpoint \(settings.endpoint)")
        }
        let openMetrics = settings.openMetrics, timestamps = settings.sendTimestamps
        (listener, listenerID) = PrometheusListener.attach(endpoint, exporter: name) { request, respond in
            guard request.path == "/metrics" else {
                return respond(HTTPResponse(status: 404, headers: [("Content-Type", "text/plain")], body: Array("404 page not found\n".utf8)))
            }
            guard request.method == "GET" || request.method == "HEAD" else {
                return respond(HTTPResponse(status: 405, headers: [("Allow", "GET")], body: []))
            }
            let asOpenMetrics = openMetrics && (request.headers["accept"] ?? "").contains("application/openmetrics-text")
            let now = clock.now()
            let text = state.store.withLock { store in
                store.expire(now: now)
                return Exposition.render(store, openMetrics: asOpenMetrics, timestamps: timestamps)
            }
            respond(HTTPResponse(status: 200, headers: [("Content-Type", asOpenMetrics ? Exposition.openMetricsContentType : Exposition.textContentType)],
                                 body: Array(text.utf8)))
        }
        gaugeID = metrics.callback("collectord_prometheus_exporter_series", help: "Series the prometheus exporter serves.",
                                   labels: [("exporter", name)]) { Double(state.store.withLock { $0.seriesCount }) }
    }

    func start() throws {
        do {
            try listener.start()
        } catch {
            throw ComponentError.permanent("\(name): cannot serve on \(settings.endpoint): \(error)")
        }
        logger.info("serving Prometheus metrics on http://\(settings.endpoint)/metrics")
    }

    /// The bound port (tests use port 0).
    var port: Int? { listener.server.boundPort }

    var exportsConcurrently: Bool { true }

    func export(_ batch: TelemetryBatch) throws(ComponentError) {
        let now = clock.now()
        // Each resource's labels are worked out once, for all its points.
        var resources: [MetricStore.Resource] = []
        var points: [(resource: Int, metric: OTLPMetricPoints.Metric, point: OTLPMetricPoints.Point)] = []
        do {
            var last = -1
            try OTLPMetricPoints.visit(batch.payload) { index, resource, metric, point in
                if index != last {
                    resources.append(MetricStore.Resource(resource, settings: settings))
                    last = index
                }
                points.append((resources.count - 1, metric, point))
            }
        } catch {
            throw .permanent("\(name): \(error)")
        }
        let dropped = state.store.withLock { store -> [String: Int] in
            let before = store.dropped
            // target_info for the resources that had a point stored (not only dropped ones).
            var stored = [Bool](repeating: false, count: resources.count)
            for p in points where store.add(resource: resources[p.resource], metric: p.metric, point: p.point, now: now) {
                stored[p.resource] = true
            }
            for (resource, kept) in zip(resources, stored) where kept { store.seen(resource, now: now) }
            store.expire(now: now)
            var added: [String: Int] = [:]
            for (reason, total) in store.dropped where total != before[reason] ?? 0 { added[reason] = total - (before[reason] ?? 0) }
            return added
        }
        for (reason, count) in dropped {
            metrics.counter("collectord_prometheus_exporter_dropped_points_total",
                            help: "Data points with no Prometheus form (delta non-monotonic sums, exponential histograms) or whose name has another type.",
                            labels: [("exporter", name), ("reason", reason)]).add(count)
        }
    }

    func shutdown() {
        listener.detach(listenerID)
        metrics.removeCallback("collectord_prometheus_exporter_series", labels: [("exporter", name)], id: gaugeID)
    }
}
