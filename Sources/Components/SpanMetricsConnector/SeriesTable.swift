import CollectorCore
import OTLPCodec

/// What the `spanmetrics` connector has aggregated: per resource, per set of dimension values,
/// a call count and a duration histogram.
///
/// Design: everything is kept as the wire bytes it will be written as. A resource is its
/// `Resource` message, copied from the first span batch that had it; a series is its data
/// point attributes, serialized `KeyValue` fields in a fixed order (the four standard
/// dimensions, then the configured ones). It is found by its key (its values alone, see
/// `SeriesKeyLayout`) in a `ByteKeyTable` (the table's index of a key is the series' index).
/// So recording a span costs one table lookup with the bytes the connector wrote in its
/// batch's key buffer, no allocation and no strings, and writing a flush copies bytes. A resource
/// is keyed by its attributes (all of them, or `resource_metrics_key_attributes`), sorted, so
/// the same resource sent with its attributes in another order is the same resource.
///
/// Bounds: `aggregation_cardinality_limit` caps series per resource (later sets of values go
/// into one overflow series, `otel.metric.overflow=true`); `metrics_expiration` drops series
/// (and resources) not updated for that long, at a flush. Not thread-safe: the connector holds
/// it in a mutex.
struct SeriesTable {
    struct Exemplar {
        var traceID: [UInt8]
        var spanID: [UInt8]
        var time: UInt64
        var value: Double
    }

    struct Series {
        /// The data point's attributes: serialized `KeyValue` fields, framed as
        /// `NumberDataPoint.attributes` (field 7; `SpanMetricsWire.reframed` makes them
        /// `HistogramDataPoint.attributes`).
        var attributes: [UInt8]
        var start: UInt64
        var lastSeen: UInt64
        var calls: UInt64 = 0
        var histogram: ExplicitHistogram
        var exemplars: [Exemplar] = []

        /// One span weighing `weight`: into the calls, and into the histogram over `bounds`
        /// unless there is none (histograms disabled).
        @inline(__always)
        mutating func add(weight: UInt64, duration: Double, bounds: [Double]?, now: UInt64, exemplar: Exemplar?, exemplarLimit: Int) {
            lastSeen = now
            calls &+= weight
            guard let bounds else { return }
            histogram.observe(duration, weight: weight, bounds: bounds)
            if let exemplar, exemplars.count < exemplarLimit { exemplars.append(exemplar) }
        }
    }

    struct Resource {
        /// The serialized `Resource` message.
        var message: [UInt8]
        var lastSeen: UInt64
        /// Series by their attributes; a key's index is its series' index in `all` (the overflow
        /// series is in it too, under `overflowKey`).
        var series = ByteKeyTable()
        var all: [Series] = []
        /// Index in `all` of the overflow series, once there is one.
        var overflow: Int?
    }

    let settings: SpanMetricsSettings
    private(set) var resources: [WireKey: Int] = [:]
    private(set) var all: [Resource] = []
    /// Spans recorded in the overflow series (`aggregation_cardinality_limit` reached).
    private(set) var overflowed = 0
    /// xorshift state for rounding fractional adjusted counts.
    private var random: UInt64

    init(settings: SpanMetricsSettings, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) {
        self.settings = settings
        self.random = seed == 0 ? 1 : seed
    }

    var seriesCount: Int { all.reduce(0) { $0 + $1.all.count } }

    /// The resource with key `key`, added with `message` when new; its index.
    mutating func resource(key: WireKey, message: UnsafeRawBufferPointer, now: UInt64) -> Int {
        if let index = resources[key] {
            all[index].lastSeen = now
            return index
        }
        resources[key] = all.count
        all.append(Resource(message: Array(message), lastSeen: now))
        return all.count - 1
    }

    /// Adds one span, weighing `weight` (its adjusted count), to the series with key `key`
    /// (hashed with `ByteKeyTable.hash` as `hash`) of resource `r`; `attributes` gives a new
    /// series' data point attributes from its key.
    mutating func record(resource r: Int, key: UnsafeRawBufferPointer, hash: UInt64, duration: Double, weight: UInt64,
                         now: UInt64, exemplar: Exemplar?, attributes: (UnsafeRawBufferPointer) -> [UInt8]) {
        let i: Int
        if let found = all[r].series.index(of: key, hash: hash) {
            i = found
        } else if settings.cardinalityLimit > 0 && all[r].all.count - (all[r].overflow == nil ? 0 : 1) >= settings.cardinalityLimit {
            overflowed += 1
            if let overflow = all[r].overflow {
                i = overflow
            } else {
                i = all[r].all.count
                all[r].overflow = i
                Self.overflowKey.withUnsafeBytes { all[r].series.insert($0, hash: ByteKeyTable.hash($0)) }
                all[r].all.append(newSeries(Self.overflowAttributes, now: now))
            }
        } else {
            i = all[r].all.count
            all[r].series.insert(key, hash: hash)
            all[r].all.append(newSeries(attributes(key), now: now))
        }
        // One mutating call into the series (each statement on `all[r].all[i]` would check
        // both arrays' uniqueness again).
        all[r].all[i].add(weight: weight, duration: duration, bounds: settings.histogramDisabled ? nil : settings.buckets, now: now,
                          exemplar: exemplar, exemplarLimit: settings.exemplarsPerPoint)
    }

    private func newSeries(_ attributes: [UInt8], now: UInt64) -> Series {
        Series(attributes: attributes, start: now, lastSeen: now, histogram: ExplicitHistogram(bounds: settings.buckets.count))
    }

    /// `otel.metric.overflow = true`, as data point attributes.
    /// The overflow series' key in the table, one no span has: a span's key starts with a
    /// varint length (0x80 alone is an unfinished one), a kind or status byte (0-5, 0-2 or
    /// 0xFF) or a dimension tag (0-2); see `SeriesKeyLayout`.
    static let overflowKey: [UInt8] = [0x80]

    static let overflowAttributes: [UInt8] = {
        var w = OTLPWireWriter()
        OTLPMetricsWriter.attribute(&w, key: Array("otel.metric.overflow".utf8), anyValue: OTLPMetricsWriter.boolValue(true))
        return w.bytes
    }()

    /// An integer count for a fractional adjusted count, rounded up with the probability of its
    /// fraction (so sums stay right on average, as upstream rounds them).
    mutating func round(_ weight: Double) -> UInt64 {
        guard weight.isFinite, weight >= 1 else { return 1 }
        let whole = weight.rounded(.down)
        let fraction = weight - whole
        var count = whole >= 1.8e19 ? UInt64.max : UInt64(whole)
        if fraction > 0 {
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            if Double(random >> 11) / Double(1 << 53) < fraction { count &+= 1 }
        }
        return count
    }

    /// After a flush at `now`: exemplars go; with delta temporality the counts restart from
    /// zero at `now`; series and resources not updated within `metrics_expiration` go.
    mutating func flushed(now: UInt64) {
        var kept: [Resource] = []
        var keys: [WireKey: Int] = [:]
        let expiration = settings.expiration
        func expired(_ lastSeen: UInt64) -> Bool { expiration > 0 && age(of: lastSeen, at: now) >= expiration }
        for (key, index) in resources.sorted(by: { $0.value < $1.value }) {
            var resource = all[index]
            guard !expired(resource.lastSeen) else { continue }
            var series: [Series] = []
            var byKey = ByteKeyTable(capacity: resource.all.count)
            var overflow: Int?
            for (i, var s) in resource.all.enumerated() where !expired(s.lastSeen) {
                s.exemplars.removeAll()
                if settings.delta {
                    s.calls = 0
                    s.histogram = ExplicitHistogram(bounds: settings.buckets.count)
                    s.start = now
                }
                if i == resource.overflow { overflow = series.count }
                resource.series.withKey(i) { _ = byKey.insert($0, hash: ByteKeyTable.hash($0)) }
                series.append(s)
            }
            resource.all = series
            resource.series = byKey
            resource.overflow = overflow
            keys[key] = kept.count
            kept.append(resource)
        }
        all = kept
        resources = keys
    }
}
