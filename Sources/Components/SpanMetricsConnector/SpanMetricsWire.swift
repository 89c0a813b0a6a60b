import OTLPCodec

/// Writing the `spanmetrics` connector's output: an `ExportMetricsServiceRequest` with, per
/// resource, one scope (`spanmetricsconnector`) holding `<namespace>.calls` (a monotonic sum)
/// and `<namespace>.duration` (an explicit-bucket histogram), through `OTLPMetricsWriter`.
enum SpanMetricsWire {
    static let scopeName = "spanmetricsconnector"

    /// The request for `table` at `now` (unix ns); nil when it holds no series. Also returns
    /// the data points written.
    static func request(_ table: SeriesTable, now: UInt64) -> (bytes: [UInt8], points: Int)? {
        let settings = table.settings
        let prefix = settings.namespace.isEmpty ? "" : settings.namespace + "."
        let temporality: UInt64 = settings.delta ? 1 : 2
        var out = OTLPWireWriter()
        var points = 0
        for resource in table.all {
            let series = resource.all.filter { !settings.delta || $0.calls > 0 }
            guard !series.isEmpty else { continue }
            var metrics = [OTLPMetricsWriter.sum(
                name: prefix + "calls",
                points: series.map { .init(attributes: $0.attributes, start: $0.start, time: now, value: $0.calls) },
                temporality: temporality, monotonic: true)]
            points += series.count
            if !settings.histogramDisabled {
                metrics.append(OTLPMetricsWriter.histogram(
                    name: prefix + "duration", unit: settings.unit.rawValue,
                    points: series.map {
                        .init(attributes: $0.attributes, start: $0.start, time: now, count: $0.histogram.count, sum: $0.histogram.sum, buckets: $0.histogram.buckets,
                              exemplars: $0.exemplars.map { .init(traceID: $0.traceID, spanID: $0.spanID, time: $0.time, value: $0.value) })
                    },
                    bounds: settings.buckets, temporality: temporality))
                points += series.count
            }
            OTLPMetricsWriter.appendResource(&out, resource: resource.message, scope: scopeName, metrics: metrics)
        }
        return points == 0 ? nil : (out.take(), points)
    }
}
