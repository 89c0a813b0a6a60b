import CollectorTesting
@testable import OTLPCodec
import Testing

/// `OTLPAttributeMatcher` and the span read that uses it (`OTLPSpanFields.read(_:_:matching:into:)`):
/// both must find exactly what a full read of the attribute list finds (`OTLPAttributes.keyAndValue`,
/// first attribute with the key wins), whatever the shape of each `KeyValue`.
@Suite struct OTLPAttributeMatcherTests {
    static let keys = ["db.name", "peer.service", "client.address", "network.peer.address", "abcdefgh", "abcdefgi", "", "db.name"]

    /// What the matcher must give: for each slot, the value of the first `KeyValue` among
    /// `keyValues` whose key (as the full reader reads it) is the slot's key.
    static func reference(_ raw: UnsafeRawBufferPointer, _ keyValues: [Range<Int>], _ keys: [String]) -> [Range<Int>?] {
        keys.map { key in
            for kv in keyValues {
                let (k, v) = OTLPAttributes.keyAndValue(raw, kv)
                if OTLPAttributes.equal(raw, k, Array(key.utf8)) { return v }
            }
            return nil
        }
    }

    /// `KeyValue` messages of many shapes: keys of every length around the wanted ones (and
    /// one- / two-byte length boundaries), values absent, scalar, short and long strings (one-,
    /// two- and three-byte lengths), value before key, the key repeated, a non-minimal length.
    static func shapes() -> [[UInt8]] {
        var out: [[UInt8]] = []
        let names = keys + ["db.nam", "db.namf", "peer.servicf", "abcdefgh1", "x", String(repeating: "k", count: 127),
                            String(repeating: "k", count: 128), "client.addresz"]
        let values: [(inout PBWriter) -> Void] = [
            { _ in },
            { $0.message(2) { $0.varintField(3, 42) } },
            { $0.message(2) { $0.string(1, "v") } },
            { $0.message(2) { $0.string(1, String(repeating: "s", count: 200)) } },
            { $0.message(2) { $0.string(1, String(repeating: "t", count: 20_000)) } },
        ]
        for name in names {
            for value in values {
                var kv = PBWriter()
                kv.string(1, name)
                value(&kv)
                out.append(kv.bytes)
            }
            var first = PBWriter()   // value first
            first.message(2) { $0.string(1, "first") }
            first.string(1, name)
            out.append(first.bytes)
            var twice = PBWriter()   // the key twice: the last one is the key
            twice.string(1, "peer.service")
            twice.message(2) { $0.string(1, "twice") }
            twice.string(1, name)
            out.append(twice.bytes)
        }
        // A non-minimal two-byte value length (0x85 0x00 = 5).
        out.append([0x0A, 0x07] + Array("db.name".utf8) + [0x12, 0x85, 0x00, 0x0A, 0x03] + Array("raw".utf8))
        return out
    }

    @Test func findsWhatTheFullReaderFinds() {
        let matcher = OTLPAttributeMatcher(Self.keys)
        let shapes = Self.shapes()
        // Every shape alone, then lists of several where an earlier one must win.
        var lists = shapes.map { [$0] }
        for i in stride(from: 0, to: shapes.count - 3, by: 3) { lists.append([shapes[i + 2], shapes[i], shapes[i + 1], shapes[i + 3]]) }
        lists.append(shapes.reversed())
        var filled = 0
        for list in lists {
            var buffer: [UInt8] = []
            var ranges: [Range<Int>] = []
            for kv in list {
                ranges.append(buffer.count..<(buffer.count + kv.count))
                buffer += kv
            }
            buffer.withUnsafeBytes { raw in
                let values = UnsafeMutableBufferPointer<Range<Int>?>.allocate(capacity: matcher.count)
                defer { values.deallocate() }
                values.initialize(repeating: nil)
                matcher.fill(raw, ranges, into: values)
                let expected = Self.reference(raw, ranges, Self.keys)
                #expect(Array(values) == expected)
                filled += values.filter { $0 != nil }.count
            }
        }
        #expect(filled > 100)   // the table exercises matches, not only misses
    }

    @Test func aFilledSlotIsLeftAsItIs() {
        let matcher = OTLPAttributeMatcher(["db.name"])
        let kv = OTLPFieldEdit.stringKeyValue(key: "db.name", value: "orders")
        kv.withUnsafeBytes { raw in
            let values = UnsafeMutableBufferPointer<Range<Int>?>.allocate(capacity: 1)
            defer { values.deallocate() }
            values.initialize(repeating: 1000..<1001)
            matcher.fill(raw, 0..<kv.count, into: values)
            #expect(values[0] == 1000..<1001)
            values[0] = nil
            matcher.fill(raw, 0..<kv.count, into: values)
            #expect(values[0].map { OTLPAttributes.anyValue(raw, $0) } == .string((kv.count - 6)..<kv.count))
        }
    }

    /// The matching read gives the same fields as the full read, and the attributes the matcher
    /// finds in the full read's list, on spans with long names and attributes (two- and
    /// three-byte lengths), repeated status messages, and a kind written as a long varint.
    @Test func theMatchingReadReadsWhatTheFullReadReads() throws {
        var spans: [[UInt8]] = []
        let long = String(repeating: "n", count: 300), huge = String(repeating: "h", count: 20_000)
        for n in 0..<4 {
            var span = PBWriter()
            span.bytesField(1, traceID(n))
            span.bytesField(2, spanID(n))
            if n == 1 { span.string(3, "ot=th:8") }
            span.bytesField(4, spanID(90 + n))
            span.string(5, n == 2 ? long : "GET /")
            if n == 3 { span.varintField(6, 3) } else { span.varintField(10, 1) }   // kind, or dropped_attributes_count
            span.fixed64(7, 1_000 + UInt64(n))
            span.fixed64(8, 5_000 + UInt64(n))
            for (i, shape) in Self.shapes().enumerated() where i % (n + 2) == 0 { span.bytesField(9, shape) }
            span.bytesField(9, OTLPFieldEdit.stringKeyValue(key: "client.address", value: n == 2 ? huge : "10.0.0.\(n)"))
            span.message(11) { $0.string(2, "event"); $0.bytesField(3, OTLPFieldEdit.stringKeyValue(key: "db.name", value: "not mine")) }
            span.message(15) { $0.varintField(3, 2) }
            if n == 1 { span.message(15) { $0.string(2, "message only") } }
            if n == 2 { span.message(15) { $0.varintField(3, 1) } }
            span.key(6, 0)
            span.varint(n == 0 ? 0x8000_0000_0000_0002 : 2)   // kind as a ten-byte varint on one span
            spans.append(span.bytes)
        }
        let matcher = OTLPAttributeMatcher(Self.keys)
        for bytes in spans {
            try bytes.withUnsafeBytes { raw in
                let full = try OTLPSpanFields(raw, 0..<raw.count)
                var fast = OTLPSpanFields()
                let values = UnsafeMutableBufferPointer<Range<Int>?>.allocate(capacity: matcher.count)
                defer { values.deallocate() }
                values.initialize(repeating: nil)
                try fast.read(raw, 0..<raw.count, matching: matcher, into: values)
                #expect(fast.traceID == full.traceID && fast.spanID == full.spanID && fast.parentSpanID == full.parentSpanID)
                #expect(fast.traceState == full.traceState && fast.name == full.name)
                #expect(fast.kind == full.kind && fast.statusCode == full.statusCode)
                #expect(fast.startTimeUnixNano == full.startTimeUnixNano && fast.endTimeUnixNano == full.endTimeUnixNano)
                #expect(fast.attributes.isEmpty && full.attributes.count > 3)
                #expect(Array(values) == Self.reference(raw, full.attributes, Self.keys))
                #expect(values[2] != nil)
            }
        }
    }

    @Test func aTruncatedSpanIsAnErrorNotACrash() {
        var span = PBWriter()
        span.string(5, String(repeating: "n", count: 300))
        span.bytesField(9, OTLPFieldEdit.stringKeyValue(key: "db.name", value: "x"))
        let matcher = OTLPAttributeMatcher(Self.keys)
        let afterName = 3 + 300   // a cut there leaves a whole span (its name alone)
        for cut in 1..<span.bytes.count {
            let bytes = Array(span.bytes.prefix(cut))
            let values = UnsafeMutableBufferPointer<Range<Int>?>.allocate(capacity: matcher.count)
            defer { values.deallocate() }
            values.initialize(repeating: nil)
            var fields = OTLPSpanFields()
            let threw = bytes.withUnsafeBytes { raw in
                do { try fields.read(raw, 0..<raw.count, matching: matcher, into: values); return false } catch { return true }
            }
            #expect(threw == (cut != afterName), "cut at \(cut)")
        }
    }

    /// `OTLPAttributes.anyValue` reads a one-field scalar in place: the same value as the
    /// general reader for every shape around it.
    @Test func anyValueInPlaceIsTheGeneralReadersValue() {
        var shapes: [[UInt8]] = []
        for text in ["", "a", String(repeating: "s", count: 125), String(repeating: "s", count: 126), String(repeating: "s", count: 127),
                     String(repeating: "s", count: 300)] {
            var w = PBWriter()
            w.string(1, text)
            shapes.append(w.bytes)
        }
        for number: UInt64 in [0, 1, 127, 128, 300, UInt64.max] {
            var w = PBWriter()
            w.varintField(3, number)
            shapes.append(w.bytes)
            var b = PBWriter()
            b.varintField(2, number)
            shapes.append(b.bytes)
        }
        var double = PBWriter()
        double.fixed64(4, 2.5.bitPattern)
        shapes.append(double.bytes)
        var bytes = PBWriter()
        bytes.bytesField(7, [1, 2, 3])
        shapes.append(bytes.bytes)
        var two = PBWriter()   // two value fields: the last wins
        two.string(1, "x")
        two.varintField(3, 5)
        shapes.append(two.bytes)
        shapes.append([0x0A, 0x03, 0x61])   // a string cut short
        shapes.append([0x18, 0x85, 0x00])   // a non-minimal varint
        shapes.append([0x0A, 0x00, 0x18, 0x07])
        shapes.append([])
        for shape in shapes {
            let padded = [0xFF] + shape + [0xFF]   // the value inside a larger buffer
            padded.withUnsafeBytes { raw in
                let range = 1..<(1 + shape.count)
                #expect(OTLPAttributes.anyValue(raw, range) == OTLPAttributes.readAnyValue(raw, range), "\(shape)")
            }
        }
    }

    /// Kind and the two times as length-delimited fields (one- and two-byte lengths): an error
    /// for the matching read as for the full read.
    @Test func wrongWireTypesAreErrorsAsInTheFullRead() {
        let matcher = OTLPAttributeMatcher(Self.keys)
        for field: UInt64 in [6, 7, 8] {
            for size in [1, 200] {
                var span = PBWriter()
                span.string(5, "name")
                span.bytesField(field, [UInt8](repeating: 1, count: size))
                span.bytesField(9, OTLPFieldEdit.stringKeyValue(key: "db.name", value: "x"))
                let values = UnsafeMutableBufferPointer<Range<Int>?>.allocate(capacity: matcher.count)
                defer { values.deallocate() }
                values.initialize(repeating: nil)
                span.bytes.withUnsafeBytes { raw in
                    var fields = OTLPSpanFields()
                    #expect(throws: OTLPDecodeError.self) { try fields.read(raw, 0..<raw.count, matching: matcher, into: values) }
                    #expect(throws: OTLPDecodeError.self) { _ = try OTLPSpanFields(raw, 0..<raw.count) }
                }
            }
        }
    }
}
