import CollectorTesting
import OTLPCodec
import Testing

/// The head sampler's span reader (`OTLPSpanSamplingFields`) and the request writer's in-place
/// item edits (`OTLPRequestLayout.ItemEdit`).
@Suite struct OTLPFieldsTests {
    static let priority = Array("sampling.priority".utf8)

    /// A span with fields of every wire type, long (multi-byte length) attributes and the
    /// given tracestate.
    static func request(traceState: String, attributes: [String: TestValue], count: Int = 3) -> [UInt8] {
        OTLPBuild.traces([TestResource(service: "svc", items: (0..<count).map { n in
            TestSpan(traceID: traceID(n), spanID: spanID(n), traceState: traceState, parentSpanID: spanID(99),
                     name: String(repeating: "n", count: 200), start: 10, end: 20, error: n == 1, attributes: attributes)
        })])
    }

    static func withSpans<T>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer, OTLPRequestLayout) throws -> T) throws -> T {
        try bytes.withUnsafeBytes { raw in try body(raw, try OTLPRequestLayout(.traces, raw)) }
    }

    /// `visit` gives each resource entry's `Resource` before its items even where the message
    /// comes after them on the wire, then the items in order; bad framing is an error.
    @Test func visitGivesTheResourceFirstThenItsItems() throws {
        func field(_ number: UInt32, _ payload: [UInt8]) -> [UInt8] {
            var w = OTLPWireWriter()
            w.bytesField(number, payload)
            return w.bytes
        }
        func resource(_ service: String) -> [UInt8] { field(1, OTLPFieldEdit.stringKeyValue(key: "service.name", value: service)) }
        func span(_ name: String) -> [UInt8] { field(2, field(5, Array(name.utf8))) }
        let late = field(1, field(2, span("s1") + span("s2")) + field(1, resource("late")))
        let early = field(1, field(1, resource("early")) + field(2, span("s3")) + field(2, span("s4")))
        let request = late + early
        var events: [String] = []
        try request.withUnsafeBytes { raw in
            try OTLPRequestLayout.visit(.traces, raw, resource: { index, message in
                let attributes = OTLPAttributes.list(raw, message, field: 1)
                guard case .string(let name)? = OTLPAttributes.find(raw, attributes, key: Array("service.name".utf8)) else { return }
                events.append("resource \(index) \(OTLPAttributes.string(raw, name))")
            }, item: { (index, payload) throws(OTLPDecodeError) in
                let span = try OTLPSpanFields(raw, payload)
                events.append("span \(index) \(OTLPAttributes.string(raw, span.name))")
            })
        }
        #expect(events == ["resource 0 late", "span 0 s1", "span 0 s2", "resource 1 early", "span 1 s3", "span 1 s4"])
        let cut = Array(request.dropLast(3))
        #expect(throws: OTLPDecodeError.self) {
            try cut.withUnsafeBytes { raw in try OTLPRequestLayout.visit(.traces, raw, resource: { _, _ in }, item: { _, _ in }) }
        }
    }

    @Test func readsWhatTheFullReaderReads() throws {
        let bytes = Self.request(traceState: "ot=th:8;rv:0123456789abcd,vendor=x",
                                 attributes: ["long": .string(String(repeating: "v", count: 300)), "sampling.priority": .int(7)])
        try Self.withSpans(bytes) { raw, layout in
            #expect(layout.items.count == 3)
            var fast = OTLPSpanSamplingFields()
            for item in layout.items {
                let full = try OTLPSpanFields(raw, item.payload)
                try fast.read(raw, item.payload, attributeKey: Self.priority)
                #expect(fast.traceID == full.traceID)
                #expect(fast.traceState == full.traceState)
                #expect(OTLPAttributes.string(raw, fast.traceState) == "ot=th:8;rv:0123456789abcd,vendor=x")
                #expect(fast.traceStateField == (full.traceState.lowerBound - 2)..<full.traceState.upperBound)
                #expect(fast.attribute == .int(7))
            }
        }
    }

    @Test func findsTheAttributeWhateverItsEncoding() throws {
        // A KeyValue written value first (valid protobuf), and a string priority.
        var kv = PBWriter()
        kv.message(2) { $0.string(1, "0") }
        kv.string(1, "sampling.priority")
        var span = PBWriter()
        span.bytesField(1, traceID(5))
        span.bytesField(9, Array(OTLPFieldEdit.stringKeyValue(key: "sampling", value: "no")))
        span.bytesField(9, kv.bytes)
        let payload = span.bytes
        try payload.withUnsafeBytes { raw in
            var fields = OTLPSpanSamplingFields()
            try fields.read(raw, 0..<raw.count, attributeKey: Self.priority)
            guard case .string(let r) = fields.attribute else { Issue.record("no attribute: \(String(describing: fields.attribute))"); return }
            #expect(OTLPAttributes.string(raw, r) == "0")
            #expect(fields.traceStateField == nil)
            // No span_id: a new tracestate goes after the trace id.
            #expect(fields.traceStateInsertion == 18)
            try fields.read(raw, 0..<raw.count, attributeKey: Array("other".utf8))
            #expect(fields.attribute == nil)
        }
    }

    @Test func insertsAfterTheSpanIDWhenThereIsNoTraceState() throws {
        let bytes = Self.request(traceState: "", attributes: [:], count: 1)
        try Self.withSpans(bytes) { raw, layout in
            var fields = OTLPSpanSamplingFields()
            let item = layout.items[0]
            try fields.read(raw, item.payload, attributeKey: Self.priority)
            #expect(fields.traceStateField == nil)
            #expect(fields.traceState.isEmpty)
            // trace_id (2 + 16 bytes), span_id (2 + 8 bytes).
            #expect(fields.traceStateInsertion == item.payload.lowerBound + 28)
        }
    }

    @Test func rejectsMalformedSpans() throws {
        let cases: [(String, [UInt8])] = [
            ("truncated length", [0x0A, 0x10, 1, 2, 3]),
            ("truncated varint", [0x30]),
            ("truncated fixed64", [0x39, 1, 2]),
            ("wire type 3", [0x0B]),
            ("field 0", [0x00, 0x01]),
            ("trace id as varint", [0x08, 0x01]),
            ("long varint", [0x30] + [UInt8](repeating: 0xFF, count: 11)),
        ]
        for (name, bytes) in cases {
            #expect(throws: OTLPDecodeError.self, "\(name)") {
                try bytes.withUnsafeBytes { raw in
                    var fields = OTLPSpanSamplingFields()
                    try fields.read(raw, 0..<raw.count, attributeKey: Self.priority)
                }
            }
        }
    }

    @Test func editsReplaceInsertAndRemoveFields() throws {
        let bytes = Self.request(traceState: "a=1", attributes: ["k": .string("v")], count: 4)
        let edited: [UInt8] = try Self.withSpans(bytes) { raw, layout in
            var fields = OTLPSpanSamplingFields()
            var spans: [OTLPSpanSamplingFields] = []
            for item in layout.items {
                try fields.read(raw, item.payload, attributeKey: Self.priority)
                spans.append(fields)
            }
            // New bytes: a replacement tracestate field; span 2 loses its tracestate; span 3
            // is dropped; span 0 is copied.
            var extra = PBWriter()
            extra.string(3, "ot=th:c")
            let insert = 0..<extra.bytes.count
            let edits = [OTLPRequestLayout.ItemEdit(item: 1, cut: spans[1].traceStateField!, insert: insert),
                         OTLPRequestLayout.ItemEdit(item: 2, cut: spans[2].traceStateField!, insert: insert.upperBound..<insert.upperBound)]
            return extra.bytes.withUnsafeBytes { layout.write([0, 1, 2], from: raw, edits: edits, editBytes: $0) }
        }
        let scan = try OTLPScanner.spans(edited)
        #expect(scan.spans.map(\.spanID) == [1, 2, 3])
        #expect(scan.spans.map(\.isError) == [false, true, false])
        #expect(scan.spans.allSatisfy { $0.name.count == 200 && $0.parentSpanID == 100 })
        try Self.withSpans(edited) { raw, layout in
            let states = try layout.items.map { OTLPAttributes.string(raw, try OTLPSpanFields(raw, $0.payload).traceState) }
            #expect(states == ["a=1", "ot=th:c", ""])
            let keys = try layout.items.map { item in
                try OTLPSpanFields(raw, item.payload).attributes.map { OTLPAttributes.string(raw, OTLPAttributes.read(raw, $0).key) }
            }
            #expect(keys == [["k"], ["k"], ["k"]])
        }
    }

    @Test func groupsAreWrittenAsRequestsInOneBuffer() throws {
        // Two resources, so a group can span both.
        let bytes = OTLPBuild.traces([
            TestResource(service: "a", items: (0..<3).map { TestSpan(traceID: traceID($0 % 2), spanID: spanID($0), name: "a\($0)", start: 1, end: 2) }),
            TestResource(service: "b", items: (3..<5).map { TestSpan(traceID: traceID($0 % 2), spanID: spanID($0), name: "b\($0)", start: 1, end: 2) }),
        ])
        for gap in [0, 48] {
            let (buffer, pieces) = try Self.withSpans(bytes) { raw, layout in
                // Group 0: items 0, 2, 4 (trace 0); group 1: items 1, 3 (trace 1).
                layout.writeGroups([0, 2, 4, 1, 3], bounds: [0..<3, 3..<5], from: raw, gap: gap)
            }
            #expect(pieces.count == 2)
            #expect(pieces[0].lowerBound == gap)
            #expect(pieces[1].lowerBound == pieces[0].upperBound + gap)
            #expect(pieces[1].upperBound == buffer.count)
            if gap > 0 { #expect(buffer[0..<gap].allSatisfy { $0 == 0 }) }
            let first = try OTLPScanner.spans(Array(buffer[pieces[0]]))
            let second = try OTLPScanner.spans(Array(buffer[pieces[1]]))
            #expect(first.spans.map(\.name) == ["a0", "a2", "b4"])
            #expect(first.services == ["a", "b"])
            #expect(second.spans.map(\.name) == ["a1", "b3"])
        }
    }
}
