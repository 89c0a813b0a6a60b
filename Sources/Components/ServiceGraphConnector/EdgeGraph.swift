import OTLPCodec

/// The `servicegraph` connector's state: half-seen edges waiting for their other side, and
/// the request counts and latency histograms of the edges completed so far.
///
/// Design: an edge is a client span (CLIENT or PRODUCER) and the server span (SERVER or
/// CONSUMER) whose parent it is, keyed by trace id + the client's span id. Whichever side comes
/// first waits in `pending` for `store.ttl`; when the other arrives the edge is recorded. A
/// client span naming a database (`database_name_attributes`) is recorded at once, towards
/// that database; a root server span (no parent) at once, from the virtual node `user`. A
/// client side that expires alone is recorded towards its peer (`virtual_node_peer_attributes`)
/// if it names one, else dropped and counted; an expired server side is dropped and counted.
/// `pending` holds at most `store.max_items` edges; more are dropped and counted. Series are
/// keyed by their data point attributes (client, server, connection_type, dimensions),
/// serialized. Not thread-safe: the connector holds it in a mutex.
struct EdgeGraph {
    struct Side {
        var service: String
        var durationSeconds: Double
        var failed: Bool
        /// Values of the configured dimensions (nil: absent).
        var dimensions: [String?]
        var peer: String?
        var messaging: Bool
    }

    struct Pending {
        var client: Side?
        var server: Side?
        var expires: UInt64
    }

    struct Series {
        var attributes: [UInt8]
        var start: UInt64
        var total: UInt64 = 0
        var failed: UInt64 = 0
        var server: Histogram
        var client: Histogram
    }

    struct Histogram {
        var count: UInt64 = 0
        var sum: Double = 0
        var buckets: [UInt64]
    }

    let settings: ServiceGraphSettings
    private(set) var pending: [[UInt8]: Pending] = [:]
    private(set) var series: [[UInt8]: Int] = [:]
    private(set) var all: [Series] = []
    /// Sides dropped: expired without their other side, or the store full.
    private(set) var expired = 0
    private(set) var droppedFull = 0
    private var reported = 0

    init(settings: ServiceGraphSettings) {
        self.settings = settings
    }

    mutating func client(_ key: [UInt8], _ side: Side, database: String?, now: UInt64) {
        if let database {
            return record(client: side, server: Side(service: database, durationSeconds: 0, failed: false,
                                                     dimensions: side.dimensions.map { _ in nil }, peer: nil, messaging: false),
                          type: "database", now: now, serverLatency: false)
        }
        pair(key, now: now) { $0.client = side }
    }

    mutating func server(_ key: [UInt8]?, _ side: Side, now: UInt64) {
        guard let key else {
            let user = Side(service: "user", durationSeconds: 0, failed: false, dimensions: side.dimensions.map { _ in nil },
                            peer: nil, messaging: false)
            return record(client: user, server: side, type: "virtual_node", now: now, clientLatency: false)
        }
        pair(key, now: now) { $0.server = side }
    }

    private mutating func pair(_ key: [UInt8], now: UInt64, _ set: (inout Pending) -> Void) {
        var entry = pending[key] ?? Pending(expires: now &+ settings.ttl)
        if pending[key] == nil && pending.count >= settings.maxItems {
            expire(now: now)
            if pending.count >= settings.maxItems {
                droppedFull += 1
                return
            }
        }
        set(&entry)
        if let client = entry.client, let server = entry.server {
            pending[key] = nil
            record(client: client, server: server, type: client.messaging || server.messaging ? "messaging_system" : "", now: now)
        } else {
            pending[key] = entry
        }
    }

    /// Handles the edges whose other side did not come within the ttl.
    mutating func expire(now: UInt64) {
        for (key, entry) in pending where entry.expires <= now {
            pending[key] = nil
            if let client = entry.client, entry.server == nil, let peer = client.peer {
                record(client: client, server: Side(service: peer, durationSeconds: 0, failed: false,
                                                    dimensions: client.dimensions.map { _ in nil }, peer: nil, messaging: false),
                       type: "virtual_node", now: now, serverLatency: false)
            } else {
                expired += 1
            }
        }
    }

    private mutating func record(client: Side, server: Side, type: String, now: UInt64,
                                 clientLatency: Bool = true, serverLatency: Bool = true) {
        var w = OTLPWireWriter(capacity: 96)
        OTLPMetricsWriter.attribute(&w, key: Array("client".utf8), anyValue: OTLPMetricsWriter.stringValue(client.service))
        OTLPMetricsWriter.attribute(&w, key: Array("server".utf8), anyValue: OTLPMetricsWriter.stringValue(server.service))
        OTLPMetricsWriter.attribute(&w, key: Array("connection_type".utf8), anyValue: OTLPMetricsWriter.stringValue(type))
        for (i, name) in settings.dimensions.enumerated() {
            if let v = client.dimensions[i] {
                OTLPMetricsWriter.attribute(&w, key: Array("client_\(name)".utf8), anyValue: OTLPMetricsWriter.stringValue(v))
            }
            if let v = server.dimensions[i] {
                OTLPMetricsWriter.attribute(&w, key: Array("server_\(name)".utf8), anyValue: OTLPMetricsWriter.stringValue(v))
            }
        }
        let attributes = w.bytes
        let index: Int
        if let known = series[attributes] {
            index = known
        } else {
            index = all.count
            series[attributes] = index
            let empty = Histogram(buckets: [UInt64](repeating: 0, count: settings.buckets.count + 1))
            all.append(Series(attributes: attributes, start: now, server: empty, client: empty))
        }
        all[index].total &+= 1
        if client.failed || server.failed { all[index].failed &+= 1 }
        if serverLatency { observe(&all[index].server, server.durationSeconds) }
        if clientLatency { observe(&all[index].client, client.durationSeconds) }
    }

    private func observe(_ h: inout Histogram, _ value: Double) {
        h.count &+= 1
        h.sum += value
        h.buckets[settings.buckets.firstIndex { value <= $0 } ?? settings.buckets.count] &+= 1
    }

    /// Drops not reported yet (for the connector's counter).
    mutating func takeDrops() -> Int {
        let new = expired + droppedFull - reported
        reported += new
        return new
    }

    /// The request holding every series at `now` (unix ns), cumulative; nil when there is none.
    func request(now: UInt64) -> (bytes: [UInt8], points: Int)? {
        guard !all.isEmpty else { return nil }
        let hist = { (pick: (Series) -> Histogram) in
            all.map { s in
                let h = pick(s)
                return OTLPMetricsWriter.HistogramPoint(attributes: s.attributes, start: s.start, time: now, count: h.count, sum: h.sum,
                                                        buckets: h.buckets)
            }
        }
        let metrics = [
            OTLPMetricsWriter.sum(name: "traces_service_graph_request_total",
                                  points: all.map { .init(attributes: $0.attributes, start: $0.start, time: now, value: $0.total) },
                                  temporality: 2, monotonic: true),
            OTLPMetricsWriter.sum(name: "traces_service_graph_request_failed_total",
                                  points: all.map { .init(attributes: $0.attributes, start: $0.start, time: now, value: $0.failed) },
                                  temporality: 2, monotonic: true),
            OTLPMetricsWriter.histogram(name: "traces_service_graph_request_server_seconds", unit: "s", points: hist(\.server),
                                        bounds: settings.buckets, temporality: 2),
            OTLPMetricsWriter.histogram(name: "traces_service_graph_request_client_seconds", unit: "s", points: hist(\.client),
                                        bounds: settings.buckets, temporality: 2),
        ]
        var out = OTLPWireWriter()
        OTLPMetricsWriter.appendResource(&out, resource: [], scope: "servicegraphconnector", metrics: metrics)
        return (out.take(), 4 * all.count)
    }
}
