#if canImport(Glibc)
internal import Glibc
#endif
/// Writes OTLP metrics on the wire, for components that make metrics (the `spanmetrics` and
/// `servicegraph` connectors): sums and explicit-bucket histograms with their data points,
/// wrapped in a resource and scope, field numbers as in opentelemetry/proto/metrics/v1.
///
/// Data point attributes are passed as serialized `KeyValue` fields framed as
/// `NumberDataPoint.attributes` (field 7, see `attribute`); histogram points get them re-framed
/// as `HistogramDataPoint.attributes` (field 9).
public enum OTLPMetricsWriter {
    /// One data point attribute (a `KeyValue` as field 7) of `key` and the serialized
    /// `AnyValue` `anyValue`.
    public static func attribute(_ w: inout OTLPWireWriter, key: some Collection<UInt8>, anyValue: [UInt8]) {
        var kv = OTLPWireWriter(capacity: key.count + anyValue.count + 8)
        kv.bytesField(1, Array(key))
        kv.bytesField(2, anyValue)
        w.bytesField(7, kv.bytes)
    }

    /// A string `AnyValue`.
    public static func stringValue(_ text: some Collection<UInt8>) -> [UInt8] {
        var w = OTLPWireWriter(capacity: text.count + 4)
        w.bytesField(1, Array(text))
        return w.bytes
    }

    public static func stringValue(_ text: String) -> [UInt8] { stringValue(Array(text.utf8)) }

    public static func boolValue(_ value: Bool) -> [UInt8] {
        var w = OTLPWireWriter(capacity: 2)
        w.varintField(2, value ? 1 : 0)
        return w.bytes
    }

    /// Attribute fields (one-byte keys, any lengths) with their key byte replaced by `key`.
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

    public struct SumPoint {
        public var attributes: [UInt8]
        public var start: UInt64
        public var time: UInt64
        public var value: UInt64

        public init(attributes: [UInt8], start: UInt64, time: UInt64, value: UInt64) {
            self.attributes = attributes
            self.start = start
            self.time = time
            self.value = value
        }
    }

    public struct Exemplar {
        public var traceID: [UInt8]
        public var spanID: [UInt8]
        public var time: UInt64
        public var value: Double

        public init(traceID: [UInt8], spanID: [UInt8], time: UInt64, value: Double) {
            self.traceID = traceID
            self.spanID = spanID
            self.time = time
            self.value = value
        }
    }

    public struct HistogramPoint {
        public var attributes: [UInt8]
        public var start: UInt64
        public var time: UInt64
        public var count: UInt64
        public var sum: Double
        /// Per-bucket counts, one more than `bounds`.
        public var buckets: [UInt64]
        public var exemplars: [Exemplar]

        public init(attributes: [UInt8], start: UInt64, time: UInt64, count: UInt64, sum: Double, buckets: [UInt64],
                    exemplars: [Exemplar] = []) {
            self.attributes = attributes
            self.start = start
            self.time = time
            self.count = count
            self.sum = sum
            self.buckets = buckets
            self.exemplars = exemplars
        }
    }

    /// A `Metric` holding a sum of integer points (1 delta, 2 cumulative).
    public static func sum(name: String, unit: String = "", points: [SumPoint], temporality: UInt64, monotonic: Bool) -> [UInt8] {
        var data = OTLPWireWriter()
        for p in points {
            var w = OTLPWireWriter(capacity: p.attributes.count + 32)
            w.raw(p.attributes)
            w.fixed64Field(2, p.start)
            w.fixed64Field(3, p.time)
            w.fixed64Field(6, p.value)   // as_int (sfixed64)
            data.bytesField(1, w.bytes)
        }
        data.varintField(2, temporality)
        if monotonic { data.varintField(3, 1) }
        return metric(name: name, unit: unit, data: 7, data.bytes)
    }

    /// A `Metric` holding an explicit-bucket histogram.
    public static func histogram(name: String, unit: String = "", points: [HistogramPoint], bounds: [Double], temporality: UInt64) -> [UInt8] {
        var data = OTLPWireWriter()
        for s in points {
            var p = OTLPWireWriter(capacity: s.attributes.count + 16 * bounds.count + 64)
            p.raw(reframed(s.attributes, key: 9 << 3 | 2))
            p.fixed64Field(2, s.start)
            p.fixed64Field(3, s.time)
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
            data.bytesField(1, p.bytes)
        }
        data.varintField(2, temporality)
        return metric(name: name, unit: unit, data: 9, data.bytes)
    }

    private static func metric(name: String, unit: String, data field: UInt32, _ body: [UInt8]) -> [UInt8] {
        var m = OTLPWireWriter(capacity: body.count + name.utf8.count + 16)
        m.bytesField(1, Array(name.utf8))
        if !unit.isEmpty { m.bytesField(3, Array(unit.utf8)) }
        m.bytesField(field, body)
        return m.bytes
    }

    /// Appends one `resource_metrics` entry to `request`: `resource` (a serialized `Resource`
    /// message, empty for none), one scope named `scope`, and `metrics` (serialized `Metric`s).
    public static func appendResource(_ request: inout OTLPWireWriter, resource: [UInt8], scope: String, metrics: [[UInt8]]) {
        var scopeMessage = OTLPWireWriter()
        scopeMessage.bytesField(1, Array(scope.utf8))
        var scopeMetrics = OTLPWireWriter()
        scopeMetrics.bytesField(1, scopeMessage.bytes)
        for m in metrics { scopeMetrics.bytesField(2, m) }
        var resourceMetrics = OTLPWireWriter()
        if !resource.isEmpty { resourceMetrics.bytesField(1, resource) }
        resourceMetrics.bytesField(2, scopeMetrics.bytes)
        request.bytesField(1, resourceMetrics.bytes)
    }
}

extension OTLPMetricsWriter {
    /// A string data point attribute (a `KeyValue` as field 7) written in place: `key` and the
    /// string `value`, no temporary buffers (the connectors write one per dimension per span).
    public static func stringAttribute(_ w: inout OTLPWireWriter, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let valueField = ProtoWire.lengthDelimitedFieldSize(payloadSize: value.count)        // AnyValue.string_value
        let kv = ProtoWire.lengthDelimitedFieldSize(payloadSize: key.count)
            + ProtoWire.lengthDelimitedFieldSize(payloadSize: valueField)
        w.lengthDelimitedHeader(7, kv)
        w.lengthDelimitedHeader(1, key.count)
        w.raw(key, 0..<key.count)
        w.lengthDelimitedHeader(2, valueField)
        w.lengthDelimitedHeader(1, value.count)
        w.raw(value, 0..<value.count)
    }

    /// A data point attribute whose value is a serialized `AnyValue` (`anyValue`), in place.
    public static func rawAttribute(_ w: inout OTLPWireWriter, key: UnsafeRawBufferPointer, anyValue: UnsafeRawBufferPointer) {
        let kv = ProtoWire.lengthDelimitedFieldSize(payloadSize: key.count)
            + ProtoWire.lengthDelimitedFieldSize(payloadSize: anyValue.count)
        w.lengthDelimitedHeader(7, kv)
        w.lengthDelimitedHeader(1, key.count)
        w.raw(key, 0..<key.count)
        w.lengthDelimitedHeader(2, anyValue.count)
        w.raw(anyValue, 0..<anyValue.count)
    }
}

/// Bytes as a dictionary key, hashed in one call (`[UInt8]`'s own hashing feeds the hasher a
/// byte at a time, which dominated the connectors' profiles).
public struct WireKey: Hashable, Sendable {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    public static func == (a: WireKey, b: WireKey) -> Bool {
        a.bytes.count == b.bytes.count && a.bytes.withUnsafeBytes { x in b.bytes.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
    }
}
