/// Reads the data points of a serialized `ExportMetricsServiceRequest` on the wire, for
/// exporters that re-express metrics (the `prometheus` exporter): no protobuf-c tree, strings
/// only where asked. Call on a request the validator accepted; framing errors throw.
public enum OTLPMetricPoints {
    public enum Kind: Sendable, Equatable {
        case gauge, sum, histogram, exponentialHistogram, summary
    }

    /// One metric's description (what every one of its points shares).
    public struct Metric: Sendable {
        public var name = ""
        public var description = ""
        public var unit = ""
        public var kind = Kind.gauge
        /// 1 delta, 2 cumulative (0 unspecified).
        public var temporality = 0
        public var monotonic = false

        public init() {}
    }

    /// A typed attribute value.
    public enum Value: Sendable, Equatable {
        case string(String), bool(Bool), int(Int64), double(Double), other(String)

        /// As a label value: strings as they are, numbers and booleans in their usual text.
        public var text: String {
            switch self {
            case .string(let s), .other(let s): s
            case .bool(let b): b ? "true" : "false"
            case .int(let i): String(i)
            case .double(let d): d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
            }
        }
    }

    public struct Exemplar: Sendable {
        public var traceID: [UInt8] = []
        public var spanID: [UInt8] = []
        public var time: UInt64 = 0
        public var value: Double = 0

        public init(traceID: [UInt8] = [], spanID: [UInt8] = [], time: UInt64 = 0, value: Double = 0) {
            self.traceID = traceID
            self.spanID = spanID
            self.time = time
            self.value = value
        }
    }

    public struct Point: Sendable {
        public var attributes: [(key: String, value: Value)] = []
        public var start: UInt64 = 0
        public var time: UInt64 = 0
        /// Gauge and sum points.
        public var value: Double = 0
        /// Histogram and summary points.
        public var count: UInt64 = 0
        public var sum: Double = 0
        /// Histogram: per-bucket (not cumulative) counts and their upper bounds.
        public var bucketCounts: [UInt64] = []
        public var bounds: [Double] = []
        /// Summary: (quantile, value).
        public var quantiles: [(Double, Double)] = []
        public var exemplars: [Exemplar] = []

        public init() {}
    }

    /// Calls `body` for every data point, with its resource's attributes and its metric, in
    /// wire order. Exponential histograms come as points with their count and sum only.
    public static func visit(_ bytes: [UInt8],
                             _ body: (_ resource: [(key: String, value: Value)], _ metric: Metric, _ point: Point) -> Void) throws(OTLPDecodeError) {
        try visit(bytes) { _, resource, metric, point in body(resource, metric, point) }
    }

    /// `visit`, also giving the number of the point's `ResourceMetrics` in the request (0, 1,
    /// ...), so a caller can work out what depends on the resource once.
    public static func visit(_ bytes: [UInt8],
                             _ body: (_ resourceIndex: Int, _ resource: [(key: String, value: Value)], _ metric: Metric, _ point: Point) -> Void)
        throws(OTLPDecodeError) {
        try bytes.withBytes { (raw) throws(OTLPDecodeError) in
            do throws(ProtoWire.WireError) {
                var request = ProtoWire.Reader(raw, range: 0..<raw.count)
                var index = -1
                while let rm = try request.next() {
                    guard rm.number == 1, rm.wireType == .lengthDelimited else { continue }
                    index += 1
                    var resource: [(key: String, value: Value)] = []
                    var scopes: [Range<Int>] = []
                    var r = ProtoWire.Reader(raw, range: rm.payload)
                    while let f = try r.next() {
                        guard f.wireType == .lengthDelimited else { continue }
                        if f.number == 1 { resource = try attributes(raw, f.payload, field: 1) }
                        if f.number == 2 { scopes.append(f.payload) }
                    }
                    for scope in scopes {
                        var s = ProtoWire.Reader(raw, range: scope)
                        while let m = try s.next() {
                            guard m.number == 2, m.wireType == .lengthDelimited else { continue }
                            try metric(raw, m.payload) { metric, point in body(index, resource, metric, point) }
                        }
                    }
                }
            } catch {
                throw OTLPDecodeError.malformed(.metrics, error.detail)
            }
        }
    }

    private static func metric(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>,
                               _ body: (Metric, Point) -> Void) throws(ProtoWire.WireError) {
        var metric = Metric()
        var data: Range<Int>?
        var reader = ProtoWire.Reader(raw, range: range)
        while let f = try reader.next() {
            guard f.wireType == .lengthDelimited else { continue }
            switch f.number {
            case 1: metric.name = string(raw, f.payload)
            case 2: metric.description = string(raw, f.payload)
            case 3: metric.unit = string(raw, f.payload)
            case 5: (metric.kind, data) = (.gauge, f.payload)
            case 7: (metric.kind, data) = (.sum, f.payload)
            case 9: (metric.kind, data) = (.histogram, f.payload)
            case 10: (metric.kind, data) = (.exponentialHistogram, f.payload)
            case 11: (metric.kind, data) = (.summary, f.payload)
            default: break
            }
        }
        guard let data else { return }
        var points: [Range<Int>] = []
        var d = ProtoWire.Reader(raw, range: data)
        while let f = try d.next() {
            switch (f.number, f.wireType) {
            case (1, .lengthDelimited): points.append(f.payload)
            case (2, .varint): metric.temporality = Int(try varint(raw, f.payload))
            case (3, .varint): metric.monotonic = try varint(raw, f.payload) != 0
            default: break
            }
        }
        for p in points { body(metric, try point(raw, p, metric.kind)) }
    }

    private static func point(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, _ kind: Kind) throws(ProtoWire.WireError) -> Point {
        var p = Point()
        // Field numbers of the attributes and exemplars differ per point type.
        let attributesField: UInt32 = switch kind {
        case .gauge, .sum: 7
        case .histogram: 9
        case .exponentialHistogram: 1
        case .summary: 7
        }
        var reader = ProtoWire.Reader(raw, range: range)
        while let f = try reader.next() {
            if f.number == attributesField, f.wireType == .lengthDelimited {
                p.attributes.append(try keyValue(raw, f.payload))
                continue
            }
            switch (kind, f.number, f.wireType) {
            case (_, 2, .fixed64): p.start = fixed(raw, f)
            case (_, 3, .fixed64): p.time = fixed(raw, f)
            case (.gauge, 4, .fixed64), (.sum, 4, .fixed64): p.value = Double(bitPattern: fixed(raw, f))
            case (.gauge, 6, .fixed64), (.sum, 6, .fixed64): p.value = Double(Int64(bitPattern: fixed(raw, f)))
            case (.gauge, 5, .lengthDelimited), (.sum, 5, .lengthDelimited), (.histogram, 8, .lengthDelimited):
                p.exemplars.append(try exemplar(raw, f.payload))
            case (.histogram, 4, .fixed64), (.exponentialHistogram, 4, .fixed64), (.summary, 4, .fixed64): p.count = fixed(raw, f)
            case (.histogram, 5, .fixed64), (.exponentialHistogram, 5, .fixed64), (.summary, 5, .fixed64):
                p.sum = Double(bitPattern: fixed(raw, f))
            case (.histogram, 6, .lengthDelimited):
                p.bucketCounts += packed(raw, f.payload)
            case (.histogram, 6, .fixed64): p.bucketCounts.append(fixed(raw, f))
            case (.histogram, 7, .lengthDelimited): p.bounds += packed(raw, f.payload).map { Double(bitPattern: $0) }
            case (.histogram, 7, .fixed64): p.bounds.append(Double(bitPattern: fixed(raw, f)))
            case (.summary, 6, .lengthDelimited):
                var q = ProtoWire.Reader(raw, range: f.payload)
                var quantile = 0.0, value = 0.0
                while let g = try q.next() {
                    guard g.wireType == .fixed64 else { continue }
                    if g.number == 1 { quantile = Double(bitPattern: fixed(raw, g)) }
                    if g.number == 2 { value = Double(bitPattern: fixed(raw, g)) }
                }
                p.quantiles.append((quantile, value))
            default: break
            }
        }
        return p
    }

    private static func exemplar(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) throws(ProtoWire.WireError) -> Exemplar {
        var e = Exemplar()
        var reader = ProtoWire.Reader(raw, range: range)
        while let f = try reader.next() {
            switch (f.number, f.wireType) {
            case (2, .fixed64): e.time = fixed(raw, f)
            case (3, .fixed64): e.value = Double(bitPattern: fixed(raw, f))
            case (6, .fixed64): e.value = Double(Int64(bitPattern: fixed(raw, f)))
            case (4, .lengthDelimited): e.spanID = Array(UnsafeRawBufferPointer(rebasing: raw[f.payload]))
            case (5, .lengthDelimited): e.traceID = Array(UnsafeRawBufferPointer(rebasing: raw[f.payload]))
            default: break
            }
        }
        return e
    }

    private static func attributes(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, field: UInt32) throws(ProtoWire.WireError) -> [(key: String, value: Value)] {
        var out: [(key: String, value: Value)] = []
        var reader = ProtoWire.Reader(raw, range: range)
        while let f = try reader.next() {
            guard f.number == field, f.wireType == .lengthDelimited else { continue }
            out.append(try keyValue(raw, f.payload))
        }
        return out
    }

    private static func keyValue(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) throws(ProtoWire.WireError) -> (key: String, value: Value) {
        OTLPAttributes.decoded(raw, range)
    }

    private static func string(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: raw[range]), as: UTF8.self)
    }

    private static func fixed(_ raw: UnsafeRawBufferPointer, _ f: ProtoWire.Field) -> UInt64 {
        UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: f.payloadStart, as: UInt64.self))
    }

    private static func varint(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) throws(ProtoWire.WireError) -> UInt64 {
        var r = ProtoWire.Reader(raw, range: range)
        return try r.readVarint()
    }

    private static func packed(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) -> [UInt64] {
        stride(from: range.lowerBound, to: range.upperBound - 7, by: 8).map {
            UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0, as: UInt64.self))
        }
    }
}
