import OTLPCodec

/// What the `spanmetrics` connector has aggregated: per resource, per set of dimension values,
/// a call count and a duration histogram.
///
/// Design: everything is kept as the wire bytes it will be written as. A resource is its
/// `Resource` message, copied from the first span batch that had it; a series is its data
/// point attributes, serialized `KeyValue` fields in a fixed order (the four standard
/// dimensions, then the configured ones), which are also its key. So recording a span costs
/// one dictionary lookup on bytes and no strings, and writing a flush copies bytes. A resource
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
        var count: UInt64 = 0
        var sum: Double = 0
        var buckets: [UInt64]
        var exemplars: [Exemplar] = []
    }

    struct Resource {
        /// The serialized `Resource` message.
        var message: [UInt8]
        var lastSeen: UInt64
        var series: [WireKey: Int] = [:]
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

    /// Adds one span, weighing `weight` (its adjusted count), to the series `attributes` of
    /// resource `r`.
    mutating func record(resource r: Int, attributes: WireKey, duration: Double, weight: UInt64, now: UInt64,
                         exemplar: Exemplar?) {
        var index = all[r].series[attributes]
        if index == nil {
            if settings.cardinalityLimit > 0 && all[r].series.count >= settings.cardinalityLimit {
                overflowed += 1
                if all[r].overflow == nil {
                    all[r].overflow = all[r].all.count
                    all[r].all.append(newSeries(WireKey(Self.overflowAttributes), now: now))
                }
                index = all[r].overflow
            } else {
                index = all[r].all.count
                all[r].series[attributes] = index
                all[r].all.append(newSeries(attributes, now: now))
            }
        }
        let i = index!
        all[r].all[i].lastSeen = now
        all[r].all[i].calls &+= weight
        guard !settings.histogramDisabled else { return }
        all[r].all[i].count &+= weight
        all[r].all[i].sum += duration * Double(weight)
        let bucket = settings.buckets.firstIndex { duration <= $0 } ?? settings.buckets.count
        all[r].all[i].buckets[bucket] &+= weight
        if let exemplar, all[r].all[i].exemplars.count < settings.exemplarsPerPoint {
            all[r].all[i].exemplars.append(exemplar)
        }
    }

    private func newSeries(_ attributes: WireKey, now: UInt64) -> Series {
        Series(attributes: attributes.bytes, start: now, lastSeen: now, buckets: [UInt64](repeating: 0, count: settings.buckets.count + 1))
    }

    /// `otel.metric.overflow = true`, as data point attributes.
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
        func expired(_ lastSeen: UInt64) -> Bool { expiration > 0 && now &- lastSeen >= expiration }
        for (key, index) in resources.sorted(by: { $0.value < $1.value }) {
            var resource = all[index]
            guard !expired(resource.lastSeen) else { continue }
            var series: [Series] = []
            var byKey: [WireKey: Int] = [:]
            var overflow: Int?
            for (i, var s) in resource.all.enumerated() where !expired(s.lastSeen) {
                s.exemplars.removeAll()
                if settings.delta {
                    s.calls = 0
                    s.count = 0
                    s.sum = 0
                    s.buckets = [UInt64](repeating: 0, count: s.buckets.count)
                    s.start = now
                }
                if i == resource.overflow { overflow = series.count } else { byKey[WireKey(s.attributes)] = series.count }
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
