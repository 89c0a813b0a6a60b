import CollectorCore
import OTLPCodec

/// The `servicegraph` connector's state: half-seen edges waiting for their other side, and
/// the request counts and latency histograms of the edges completed so far.
///
/// Design: an edge is a client span (CLIENT or PRODUCER) and the server span (SERVER or
/// CONSUMER) whose parent it is, keyed by trace id + the client's span id. Whichever side comes
/// first waits in `pending` (a `PendingEdges` table) for `store.ttl`; when the other arrives
/// the edge is recorded. A
/// client span naming a database (`database_name_attributes`) is recorded at once, towards
/// that database; a root server span (no parent) at once, from the virtual node `user`. A
/// client side that expires alone is recorded towards its peer (`virtual_node_peer_attributes`)
/// if it names one, else dropped and counted; an expired server side is dropped and counted.
/// `pending` holds at most `store.max_items` edges; more are dropped and counted. Series are
/// keyed by what makes their data point attributes (client, server, connection_type,
/// dimensions), as interned ids. Services are interned as their resources come; peer and
/// database names and sets of dimension values only when they make a series: the tables grow
/// with the series, as the series do, not with the spans. Not thread-safe: the connector holds it in a mutex.
struct EdgeGraph {
    /// Trace id and span id (of the client span), without allocating.
    struct EdgeKey: Hashable {
        var high: UInt64
        var low: UInt64
        var span: UInt64

        /// One word to the hasher (the ids are random already); equality still compares all.
        func hash(into hasher: inout Hasher) {
            hasher.combine(high ^ (low &* 0x9E37_79B9_7F4A_7C15) ^ (span &* 0xC2B2_AE3D_27D4_EB4F))
        }
    }

    /// One side of an edge: plain values, so the pending table and the batches of sides copy
    /// it as bytes. Its service is interned (services come from resources); its peer name and
    /// dimension values, when it has any, wait in `extras` (they are interned only when they
    /// make a series, so a stream of sides that never pair leaves nothing behind once they
    /// expire).
    struct Side {
        /// A name id from `intern`.
        var service: Int32
        var durationSeconds: Double
        var failed: Bool
        var messaging: Bool
        /// Index in `extras` of the side's peer name and dimension values; -1: none.
        var extra: Int32 = -1
    }

    /// A waiting side's values that are strings.
    struct Extra {
        /// `virtual_node_peer_attributes`' first value (client sides).
        var peer: String?
        /// Values of the configured dimensions (empty when none are configured or none is set).
        var dimensions: [String?]
    }

    struct Pending {
        var client: Side?
        var server: Side?
        var expires: UInt64
    }

    /// `connection_type`.
    enum ConnectionType: String {
        case direct = "", messagingSystem = "messaging_system", database, virtualNode = "virtual_node"
    }

    struct SeriesKey: Hashable {
        var client: Int32
        var server: Int32
        var type: ConnectionType
        var clientDimensions: Int32
        var serverDimensions: Int32
    }

    struct Series {
        var attributes: [UInt8]
        var start: UInt64
        var total: UInt64 = 0
        var failed: UInt64 = 0
        var server: ExplicitHistogram
        var client: ExplicitHistogram

        /// One request, and its latencies where they count; one mutating call, so the series
        /// array is checked for uniqueness once.
        @inline(__always)
        mutating func add(failed isFailed: Bool, server serverLatency: Double?, client clientLatency: Double?, bounds: [Double]) {
            total &+= 1
            if isFailed { failed &+= 1 }
            if let serverLatency { server.observe(serverLatency, bounds: bounds) }
            if let clientLatency { client.observe(clientLatency, bounds: bounds) }
        }
    }

    let settings: ServiceGraphSettings
    private(set) var pending = PendingEdges()
    /// Peer names and dimension values of the sides that have them, in `pending` or about to be
    /// recorded; freed places are reused.
    private var extras: [Extra?] = []
    private var freeExtras: [Int32] = []
    /// Service, peer and database names, by the ids sides and series keys carry.
    private var names = ByteKeyTable()
    private(set) var nameStrings: [String] = []
    /// Sets of dimension values, by the ids series keys carry.
    private var dimensionIDs: [[String?]: Int32] = [:]
    /// Series by what makes them: client, server, connection type, dimension values.
    private(set) var series: [SeriesKey: Int] = [:]
    /// The series most recently found, by a cheap hash of their key: most edges go between a
    /// few services, and this saves them the dictionary's `Hasher` (series are never removed,
    /// so a cached index stays right).
    private var seriesCache = [(key: SeriesKey, index: Int)](repeating: (SeriesKey(client: -2, server: -2, type: .direct, clientDimensions: -2,
                                                                                    serverDimensions: -2), 0), count: 64)
    private(set) var all: [Series] = []
    /// Sides dropped: expired without their other side, or the store full.
    private(set) var expired = 0
    private(set) var droppedFull = 0
    private var reported = 0

    init(settings: ServiceGraphSettings) {
        self.settings = settings
    }

    /// The id of name `name` (by its UTF-8: names that read the same are one name).
    mutating func intern(_ name: String) -> Int32 {
        var text = name
        let (index, inserted) = text.withUTF8 { names.findOrInsert(UnsafeRawBufferPointer($0)) }
        if inserted { nameStrings.append(name) }
        return Int32(index)
    }

    /// The id of a set of dimension values; -1 when every value is absent.
    private mutating func internDimensions(_ values: [String?]) -> Int32 {
        guard values.contains(where: { $0 != nil }) else { return -1 }
        if let id = dimensionIDs[values] { return id }
        let id = Int32(dimensionIDs.count)
        dimensionIDs[values] = id
        return id
    }

    /// A client side with its peer name and dimension values; `database` names the database
    /// it called, if it did.
    mutating func client(_ key: EdgeKey, _ side: Side, peer: String? = nil, dimensions: [String?] = [], database: String?, now: UInt64) {
        var side = side
        side.extra = keep(peer: peer, dimensions: dimensions)
        if let database {
            return record(client: side, server: Side(service: intern(database), durationSeconds: 0, failed: false, messaging: false),
                          type: .database, now: now, serverLatency: false)
        }
        pair(key, side, client: true, now: now)
    }

    /// A server side with its dimension values; no key for a root span.
    mutating func server(_ key: EdgeKey?, _ side: Side, dimensions: [String?] = [], now: UInt64) {
        var side = side
        side.extra = keep(peer: nil, dimensions: dimensions)
        guard let key else {
            let user = Side(service: intern("user"), durationSeconds: 0, failed: false, messaging: false)
            return record(client: user, server: side, type: .virtualNode, now: now, clientLatency: false)
        }
        pair(key, side, client: false, now: now)
    }

    /// Where a side's strings wait: -1 when it has none.
    private mutating func keep(peer: String?, dimensions: [String?]) -> Int32 {
        guard peer != nil || !dimensions.isEmpty else { return -1 }
        let extra = Extra(peer: peer, dimensions: dimensions)
        if let index = freeExtras.popLast() {
            extras[Int(index)] = extra
            return index
        }
        extras.append(extra)
        return Int32(extras.count - 1)
    }

    private mutating func release(_ side: Side?) {
        guard let side, side.extra >= 0 else { return }
        extras[Int(side.extra)] = nil
        freeExtras.append(side.extra)
        if freeExtras.count == extras.count {
            extras.removeAll(keepingCapacity: true)
            freeExtras.removeAll(keepingCapacity: true)
        }
    }

    private func peer(of side: Side) -> String? { side.extra < 0 ? nil : extras[Int(side.extra)]?.peer }

    private func dimensions(of side: Side) -> [String?] { side.extra < 0 ? [] : extras[Int(side.extra)]?.dimensions ?? [] }

    private mutating func pair(_ key: EdgeKey, _ side: Side, client isClient: Bool, now: UInt64) {
        if let index = pending.find(key) {
            // The other side is waiting: the edge is complete (or a side came twice: the later
            // one replaces it).
            var entry = pending[entry: index]
            if isClient {
                release(entry.client)
                entry.client = side
            } else {
                release(entry.server)
                entry.server = side
            }
            if let client = entry.client, let server = entry.server {
                pending.remove(key)
                record(client: client, server: server, type: client.messaging || server.messaging ? .messagingSystem : .direct, now: now)
            } else {
                pending[entry: index] = entry
            }
            return
        }
        if pending.count >= settings.maxItems {
            expire(now: now)
            if pending.count >= settings.maxItems {
                droppedFull += 1
                release(side)
                return
            }
        }
        var entry = Pending(expires: now &+ settings.ttl)
        if isClient { entry.client = side } else { entry.server = side }
        pending.insert(key, entry)
    }

    /// Handles the edges whose other side did not come within the ttl.
    mutating func expire(now: UInt64) {
        for key in pending.expired(now: now) {
            guard let entry = pending.remove(key) else { continue }
            if let client = entry.client, entry.server == nil, let peer = peer(of: client) {
                record(client: client, server: Side(service: intern(peer), durationSeconds: 0, failed: false, messaging: false),
                       type: .virtualNode, now: now, serverLatency: false)
            } else {
                expired += 1
                release(entry.client)
                release(entry.server)
            }
        }
    }

    private mutating func record(client: Side, server: Side, type: ConnectionType, now: UInt64,
                                 clientLatency: Bool = true, serverLatency: Bool = true) {
        defer {
            release(client)
            release(server)
        }
        let clientValues = dimensions(of: client), serverValues = dimensions(of: server)
        let key = SeriesKey(client: client.service, server: server.service, type: type,
                            clientDimensions: clientValues.isEmpty ? -1 : internDimensions(clientValues),
                            serverDimensions: serverValues.isEmpty ? -1 : internDimensions(serverValues))
        let index: Int
        let cached = Self.cacheSlot(key)
        if seriesCache[cached].key == key {
            index = seriesCache[cached].index
        } else if let known = series[key] {
            index = known
            seriesCache[cached] = (key, known)
        } else {
            var w = OTLPWireWriter(capacity: 96)
            OTLPMetricsWriter.attribute(&w, key: Array("client".utf8), anyValue: OTLPMetricsWriter.stringValue(nameStrings[Int(client.service)]))
            OTLPMetricsWriter.attribute(&w, key: Array("server".utf8), anyValue: OTLPMetricsWriter.stringValue(nameStrings[Int(server.service)]))
            OTLPMetricsWriter.attribute(&w, key: Array("connection_type".utf8), anyValue: OTLPMetricsWriter.stringValue(type.rawValue))
            let none = [String?](repeating: nil, count: settings.dimensions.count)
            let clientDimensions = clientValues.isEmpty ? none : clientValues
            let serverDimensions = serverValues.isEmpty ? none : serverValues
            for (i, name) in settings.dimensions.enumerated() {
                if let v = clientDimensions[i] {
                    OTLPMetricsWriter.attribute(&w, key: Array("client_\(name)".utf8), anyValue: OTLPMetricsWriter.stringValue(v))
                }
                if let v = serverDimensions[i] {
                    OTLPMetricsWriter.attribute(&w, key: Array("server_\(name)".utf8), anyValue: OTLPMetricsWriter.stringValue(v))
                }
            }
            let attributes = w.bytes
            index = all.count
            series[key] = index
            seriesCache[cached] = (key, index)
            let empty = ExplicitHistogram(bounds: settings.buckets.count)
            all.append(Series(attributes: attributes, start: now, server: empty, client: empty))
        }
        all[index].add(failed: client.failed || server.failed, server: serverLatency ? server.durationSeconds : nil,
                       client: clientLatency ? client.durationSeconds : nil, bounds: settings.buckets)
    }

    @inline(__always)
    private static func cacheSlot(_ key: SeriesKey) -> Int {
        let type = key.type == .direct ? 0 : key.type == .messagingSystem ? 1 : key.type == .database ? 2 : 3
        let mixed = Int(key.client) &* 31 &+ Int(key.server) &* 17 &+ type &* 7 &+ Int(key.clientDimensions) &* 5 &+ Int(key.serverDimensions) &* 3
        return mixed & 63
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
        let hist = { (pick: (Series) -> ExplicitHistogram) in
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
