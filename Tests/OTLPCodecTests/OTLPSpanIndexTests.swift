import CollectorTesting
@testable import OTLPCodec
import Testing

/// `OTLPSpanIndex`: one read of a request must hold what the full readers give, span by span
/// and resource by resource, and a reader's plan must find its own keys in an index built for
/// more keys.
@Suite struct OTLPSpanIndexTests {
    static let keys = ["client.address", "db.name", "http.route", "peer.service"]

    static func request() -> [UInt8] {
        func span(_ i: Int, kind: UInt64, attributes: [String: TestValue] = [:], parent: Bool = true) -> TestSpan {
            TestSpan(traceID: (0..<16).map { UInt8($0 + i) }, spanID: (0..<8).map { UInt8(100 + $0 + i) },
                     traceState: i % 3 == 0 ? "ot=th:8" : "", parentSpanID: parent ? (0..<8).map { UInt8(200 + $0) } : [],
                     name: "op-\(i)", start: 1_000 + UInt64(i), end: 5_000 + UInt64(i * i), error: i % 4 == 0,
                     statusCode: i % 4 == 1 ? 1 : 0, attributes: attributes, kind: kind)
        }
        return OTLPBuild.traces([
            TestResource(service: "frontend", attributes: ["peer.service": .string("from-resource"), "host.name": .string("n1")], items: [
                span(1, kind: 3, attributes: ["peer.service": .string("payments"), "http.route": .string("/pay")]),
                span(2, kind: 2, attributes: ["client.address": .string("10.0.0.1")], parent: false),
                span(3, kind: 1),
            ]),
            TestResource(service: nil, attributes: ["db.name": .string("orders")], items: [
                span(4, kind: 3, attributes: ["db.name": .int(7), "other": .bool(true)]),
            ]),
            TestResource(service: "checkout", items: []),
            TestResource(service: "inventory", items: [span(5, kind: 5, attributes: ["http.route": .double(1.5)])]),
        ])
    }

    @Test func holdsWhatTheFullReadersGive() throws {
        let bytes = Self.request()
        try bytes.withUnsafeBytes { raw in
            let index = try OTLPSpanIndex(raw, matching: OTLPAttributeMatcher(Self.keys), capacity: 2)
            var resources: [(message: Range<Int>?, attributes: [Range<Int>])] = []
            var spans: [(resource: Int, fields: OTLPSpanFields)] = []
            try OTLPRequestLayout.visit(.traces, raw, resource: { _, message in
                resources.append((message, OTLPAttributes.list(raw, message, field: 1)))
            }, item: { (r, payload) throws(OTLPDecodeError) in spans.append((r, try OTLPSpanFields(raw, payload))) })
            #expect(index.keyCount == 4)
            #expect(index.resources.count == 4 && spans.count == 5)
            for (r, resource) in resources.enumerated() {
                #expect(index.resources[r].message == resource.message)
                #expect(index.resources[r].service == OTLPAttributes.find(raw, resource.attributes, key: Array("service.name".utf8)))
                #expect((0..<4).map { index.value(ofResource: r, slot: $0) } == OTLPAttributeMatcherTests.reference(raw, resource.attributes, Self.keys))
            }
            for (i, (r, fields)) in spans.enumerated() {
                let span = index.spans[i]
                #expect(span.resource == r)
                #expect(span.name == fields.name && span.traceID == fields.traceID && span.spanID == fields.spanID)
                #expect(span.parentSpanID == fields.parentSpanID && span.traceState == fields.traceState)
                #expect(span.kind == fields.kind && span.statusCode == fields.statusCode)
                #expect(span.startTimeUnixNano == fields.startTimeUnixNano && span.endTimeUnixNano == fields.endTimeUnixNano)
                #expect((0..<4).map { index.value(ofSpan: i, slot: $0) } == OTLPAttributeMatcherTests.reference(raw, fields.attributes, Self.keys))
            }
            // Spot checks against the request as written.
            #expect(OTLPAttributes.string(raw, index.spans[0].name) == "op-1")
            #expect(index.spans.map(\.kind) == [3, 2, 1, 3, 5])
            #expect(index.spans.map(\.statusCode) == [1, 0, 0, 2, 1])
            #expect(index.spans[1].parentSpanID.isEmpty && !index.spans[0].parentSpanID.isEmpty)
            #expect(index.resources[1].service == nil)
            let peer = try #require(index.value(ofSpan: 0, slot: 3))
            guard case .string(let name) = OTLPAttributes.anyValue(raw, peer) else { Issue.record("peer.service is not a string"); return }
            #expect(OTLPAttributes.string(raw, name) == "payments")
            #expect((0..<4).allSatisfy { index.value(ofSpan: 2, slot: $0) == nil })
            #expect(index.value(ofResource: 1, slot: 1) != nil && (0..<4).allSatisfy { index.value(ofResource: 2, slot: $0) == nil })
        }
    }

    /// An attribute present without a value is an empty value, not an absent one; kinds and
    /// codes outside a byte (or negative) read as 255, which names no kind or code.
    @Test func edgesOfValuesKindsAndCodes() throws {
        func request(kind: UInt64, code: UInt64) -> [UInt8] {
            var w = PBWriter()
            w.message(1) { rs in
                rs.message(2) { ss in
                    ss.message(2) { span in
                        span.bytesField(1, [UInt8](repeating: 1, count: 16))
                        span.bytesField(2, [UInt8](repeating: 2, count: 8))
                        span.string(5, "op")
                        span.varintField(6, kind)
                        span.message(9) { $0.string(1, "db.name") }
                        span.message(15) { $0.varintField(3, code) }
                    }
                }
            }
            return w.bytes
        }
        for (kind, code, expected) in [(UInt64(3), UInt64(2), (3, 2)), (300, 256, (255, 255)), (UInt64.max, UInt64.max - 1, (255, 255))] {
            let bytes = request(kind: kind, code: code)
            try bytes.withUnsafeBytes { raw in
                let index = try OTLPSpanIndex(raw, matching: OTLPAttributeMatcher(Self.keys), capacity: 1)
                #expect(index.spans.count == 1 && index.resources.count == 1 && index.resources[0].message == nil)
                #expect(index.spans[0].kind == expected.0 && index.spans[0].statusCode == expected.1)
                let value = try #require(index.value(ofSpan: 0, slot: 1))
                #expect(value.isEmpty)
                #expect(index.value(ofSpan: 0, slot: 0) == nil && index.value(ofResource: 0, slot: 1) == nil)
            }
        }
    }

    @Test func withoutKeysItStillReadsEverySpan() throws {
        let bytes = Self.request()
        try bytes.withUnsafeBytes { raw in
            let index = try OTLPSpanIndex(raw, matching: OTLPAttributeMatcher([String]()), capacity: 0)
            #expect(index.keyCount == 0 && index.spans.count == 5 && index.resources.count == 4)
        }
    }

    @Test func malformedBytesThrow() {
        var bytes = Self.request()
        bytes.removeLast(3)
        #expect(throws: OTLPDecodeError.self) {
            try bytes.withUnsafeBytes { _ = try OTLPSpanIndex($0, matching: OTLPAttributeMatcher(Self.keys), capacity: 8) }
        }
    }

    /// A reader's own keys (repeats allowed) map to the slots of a larger key set; the plan for
    /// a key set is made once.
    @Test func plansMapOwnKeysToTheSharedSlots() {
        let plans = OTLPSpanIndex.Plans(["peer.service", "db.name", "db.name"])
        #expect(plans.plan(for: nil).keys == ["peer.service", "db.name", "db.name"])
        #expect(plans.plan(for: nil).slots == [0, 1, 1])
        let shared = plans.plan(for: Self.keys)
        #expect(shared.keys == Self.keys && shared.slots == [3, 1, 1] && shared.matcher.count == 4)
        #expect(plans.plan(for: Self.keys).matcher === shared.matcher)
        #expect(plans.plan(for: ["db.name", "peer.service"]).slots == [1, 0, 0])
    }
}
