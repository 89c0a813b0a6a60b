import OTLPCodec

/// Writing the `spanmetrics` connector's output: an `ExportMetricsServiceRequest` with, per
/// resource, one scope (`spanmetricsconnector`) holding `<namespace>.calls` (a monotonic sum)
/// and `<namespace>.duration` (an explicit-bucket histogram), field numbers as in
/// opentelemetry/proto/metrics/v1/metrics.proto.
enum SpanMetricsWire {
    static let scopeName = "spanmetricsconnector"
    /// The key byte of `NumberDataPoint.attributes` (field 7, length-delimited) and of
    /// `HistogramDataPoint.attributes` (field 9).
    static let numberAttributesKey: UInt8 = 7 << 3 | 2
    static let histogramAttributesKey: UInt8 = 9 << 3 | 2

    /// One data point attribute (a `KeyValue` as field 7) of `key` and the serialized
    /// `AnyValue` `anyValue`.
    static func attribute(_ w: inout OTLPWireWriter, key: some Collection<UInt8>, anyValue: [UInt8]) {
        var kv = OTLPWireWriter(capacity: key.count + anyValue.count + 8)
        kv.bytesField(1, Array(key))
        kv.bytesField(2, anyValue)
        w.bytesField(7, kv.bytes)
    }

    /// Same, the value being raw `AnyValue` bytes of `source`.
    static func attribute(_ w: inout OTLPWireWriter, key: some Collection<UInt8>, anyValue source: UnsafeRawBufferPointer,
                          _ range: Range<Int>) {
        attribute(&w, key: key, anyValue: Array(UnsafeRawBufferPointer(rebasing: source[range])))
    }

    static func stringValue(_ text: some Collection<UInt8>) -> [UInt8] {
        var w = OTLPWireWriter(capacity: text.count + 4)
        w.bytesField(1, Array(text))
        return w.bytes
    }

    static func boolValue(_ value: Bool) -> [UInt8] {
        var w = OTLPWireWriter(capacity: 2)
        w.varintField(2, value ? 1 : 0)
        return w.bytes
    }

    /// `attributes` (fields 7, one-byte keys and lengths of any size) as fields with key byte `key`.
    static func reframed(_ attributes: [UInt8], key: UInt8) -> [UInt8] {
        var out = attributes
        var i = 0
        while i < out.count {
            out[i] = key
            i += 1
            var length = 0, shift = 0
            while i < out.count {
                let b = out[i]
                i += 1
                length |= Int(b & 0x7F) << shift
                shift += 7
                if b < 0x80 { break }
            }
            i += length
        }
        return out
    }

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
            var calls = OTLPWireWriter()
            for s in series {
                var p = OTLPWireWriter(capacity: s.attributes.count + 40)
                p.raw(s.attributes)
                p.fixed64Field(2, s.start)
                p.fixed64Field(3, now)
                p.fixed64Field(6, s.calls)   // as_int, sfixed64
                calls.bytesField(1, p.bytes)
                points += 1
            }
            calls.varintField(2, temporality)
            calls.varintField(3, 1)          // is_monotonic
            var metrics = OTLPWireWriter()
            metrics.bytesField(2, metric(name: prefix + "calls", unit: "", data: 7, calls.bytes))
            if !settings.histogramDisabled {
                var histogram = OTLPWireWriter()
                for s in series {
                    histogram.bytesField(1, histogramPoint(s, bounds: settings.buckets, now: now))
                    points += 1
                }
                histogram.varintField(2, temporality)
                metrics.bytesField(2, metric(name: prefix + "duration", unit: settings.unit.rawValue, data: 9, histogram.bytes))
            }
            var scope = OTLPWireWriter()
            scope.bytesField(1, Array(scopeName.utf8))
            var scopeMetrics = OTLPWireWriter()
            scopeMetrics.bytesField(1, scope.bytes)
            scopeMetrics.raw(metrics.bytes)
            var resourceMetrics = OTLPWireWriter()
            resourceMetrics.bytesField(1, resource.message)
            resourceMetrics.bytesField(2, scopeMetrics.bytes)
            out.bytesField(1, resourceMetrics.bytes)
        }
        return points == 0 ? nil : (out.take(), points)
    }

    private static func metric(name: String, unit: String, data field: UInt32, _ body: [UInt8]) -> [UInt8] {
        var m = OTLPWireWriter(capacity: body.count + name.utf8.count + 16)
        m.bytesField(1, Array(name.utf8))
        if !unit.isEmpty { m.bytesField(3, Array(unit.utf8)) }
        m.bytesField(field, body)
        return m.bytes
    }

    private static func histogramPoint(_ s: SeriesTable.Series, bounds: [Double], now: UInt64) -> [UInt8] {
        var p = OTLPWireWriter(capacity: s.attributes.count + 16 * bounds.count + 64)
        p.raw(reframed(s.attributes, key: histogramAttributesKey))
        p.fixed64Field(2, s.start)
        p.fixed64Field(3, now)
        p.fixed64Field(4, s.count)
        p.fixed64Field(5, s.sum.bitPattern)
        var counts = OTLPWireWriter(capacity: 8 * s.buckets.count)
        for c in s.buckets { counts.fixed64(c) }
        p.bytesField(6, counts.bytes)
        if !bounds.isEmpty {
            var b = OTLPWireWriter(capacity: 8 * bounds.count)
            for bound in bounds { b.fixed64(bound.bitPattern) }
            p.bytesField(7, b.bytes)
        }
        for e in s.exemplars {
            var x = OTLPWireWriter(capacity: 48)
            x.fixed64Field(2, e.time)
            x.fixed64Field(3, e.value.bitPattern)
            x.bytesField(4, e.spanID)
            x.bytesField(5, e.traceID)
            p.bytesField(8, x.bytes)
        }
        return p.bytes
    }
}
