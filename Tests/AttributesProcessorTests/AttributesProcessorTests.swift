import AttributeActions
import CollectorCore
import CollectorTesting
import OTLPCodec
import Testing
@testable import AttributesProcessor

/// The `attributes` processor on real requests: the chosen items' attributes edited, every
/// other byte as it came.
@Suite struct AttributesProcessorTests {
    static func processor(_ actions: [AttributeAction], include: MatchProperties? = nil, exclude: MatchProperties? = nil) -> AttributesProcessor {
        var s = AttributesSettings()
        s.actions = actions
        s.include = include
        s.exclude = exclude
        return AttributesProcessor(settings: s, logger: .discarding)
    }

    /// Each item's attributes as "key=value" (strings and ints), in wire order.
    static func items(_ bytes: [UInt8], _ signal: OTLPSignal) throws -> [String: [String]] {
        try bytes.withUnsafeBytes { raw in
            let layout = try OTLPRequestLayout(signal, raw)
            var out: [String: [String]] = [:]
            for item in layout.items {
                var name = ""
                var attributes: [String] = []
                try OTLPMessageFields.each(raw, item.payload) { n, _, payload, ld in
                    guard ld else { return }
                    if signal == .traces, n == 5 { name = OTLPAttributes.string(raw, payload) }
                    if signal == .logs, n == 5, case .string(let r) = OTLPAttributes.anyValue(raw, payload) { name = OTLPAttributes.string(raw, r) }
                    if n == AttributesProcessor.attributesField(signal) {
                        let (k, v) = OTLPAttributes.read(raw, payload)
                        let text: String = switch v {
                        case .string(let r): OTLPAttributes.string(raw, r)
                        case .int(let i): String(i)
                        default: "?"
                        }
                        attributes.append(OTLPAttributes.string(raw, k) + "=" + text)
                    }
                }
                out[name] = attributes.sorted()
            }
            return out
        }
    }

    static func run(_ p: AttributesProcessor, _ signal: Signal, _ payload: [UInt8], _ count: Int) throws -> [UInt8] {
        var out: [TelemetryBatch] = []
        p.process(TelemetryBatch(signal: signal, payload: payload, itemCount: count), now: 0) { out.append($0) }
        let batch = try #require(out.first)
        #expect(out.count == 1 && batch.itemCount == count)
        return batch.payload
    }

    static let traces = OTLPBuild.traces([
        TestResource(service: "cart", items: [
            TestSpan(traceID: traceID(1), spanID: spanID(1), name: "GET /cart", start: 1, end: 2, attributes: ["user.email": .string("a@b.c")]),
            TestSpan(traceID: traceID(1), spanID: spanID(2), name: "health check", start: 1, end: 2),
        ]),
        TestResource(service: "pay", items: [
            TestSpan(traceID: traceID(2), spanID: spanID(3), name: "POST /charge", start: 3, end: 4, attributes: ["user.email": .string("d@e.f")]),
        ]),
    ])

    @Test func includeAndExcludeChooseTheSpans() throws {
        var include = MatchProperties()
        include.services = ["cart"]
        var exclude = MatchProperties()
        exclude.matchType = .regexp
        exclude.spanNames = ["^health"]
        let p = Self.processor([AttributeAction(kind: .upsert, key: "team", value: .string("shop")),
                                AttributeAction(kind: .delete, key: "user.email")], include: include, exclude: exclude)
        let out = try Self.run(p, .traces, Self.traces, 3)
        #expect(try Self.items(out, .traces) == [
            "GET /cart": ["team=shop"],
            "health check": [],
            "POST /charge": ["user.email=d@e.f"],
        ])
        // Other span fields are as they were.
        let before = try OTLPScanner.spans(Self.traces).spans, after = try OTLPScanner.spans(out).spans
        #expect(after.map(\.spanID) == before.map(\.spanID))
        #expect(after.map(\.name) == before.map(\.name))
        #expect(after.map(\.startTimeUnixNano) == before.map(\.startTimeUnixNano))
        #expect(try OTLPScanner.spans(out).services == ["cart", "pay"])
    }

    @Test func everySpanWithoutIncludeAndKindAndAttributeMatching() throws {
        var include = MatchProperties()
        include.spanKinds = ["SPAN_KIND_CLIENT"]
        let none = try Self.run(Self.processor([AttributeAction(kind: .hash, key: "user.email")], include: include), .traces, Self.traces, 3)
        #expect(none == Self.traces)
        include.spanKinds = ["SPAN_KIND_SERVER"]  // what the builder writes
        include.attributes = [.init(key: "user.email", value: nil)]
        let p = Self.processor([AttributeAction(kind: .hash, key: "user.email")], include: include)
        let out = try Self.run(p, .traces, Self.traces, 3)
        let items = try Self.items(out, .traces)
        #expect(items["health check"] == [])
        #expect(items["GET /cart"]?.first?.hasPrefix("user.email=") == true)
        #expect(items["GET /cart"]?.first?.count == "user.email=".count + 64)
        let all = try Self.run(Self.processor([AttributeAction(kind: .insert, key: "seen", value: .int(1))]), .traces, Self.traces, 3)
        #expect(try Self.items(all, .traces).values.allSatisfy { $0.contains("seen=1") })
    }

    @Test func logRecordsByBodyAndSeverity() throws {
        let logs = OTLPBuild.logs([TestResource(service: "api", items: [
            TestLog(time: 1, body: "payment failed for order 7", attributes: ["card": .string("4111")]),
            TestLog(time: 2, body: "ok", attributes: ["card": .string("4222")]),
        ])])
        var include = MatchProperties()
        include.matchType = .regexp
        include.logBodies = ["failed"]
        let p = Self.processor([AttributeAction(kind: .delete, key: "card")], include: include)
        let out = try Self.run(p, .logs, logs, 2)
        #expect(try Self.items(out, .logs) == ["payment failed for order 7": [], "ok": ["card=4222"]])
        // Nothing chosen changes: the request passes as it came.
        include.logBodies = ["^never$"]
        let same = try Self.run(Self.processor([AttributeAction(kind: .delete, key: "card")], include: include), .logs, logs, 2)
        #expect(same == logs)
    }

    @Test func configIsChecked() throws {
        let parser = ConfigParser(factories: [StubComponentFactory(type: "otlp", kind: .receiver), AttributesFactory(),
                                              StubComponentFactory(type: "nop", kind: .exporter)])
        func yaml(_ body: String) -> String {
            """
            receivers: {otlp: {}}
            processors:
              attributes:
            \(body)
            exporters: {nop: {}}
            service:
              pipelines:
                traces: {receivers: [otlp], processors: [attributes], exporters: [nop]}
            """
        }
        let good = try parser.parse(yaml: yaml("""
                include:
                  match_type: regexp
                  services: ['^cart']
                  attributes: [{key: http.route, value: '^/api'}]
                actions:
                  - {key: team, value: shop, action: upsert}
            """), file: "t.yaml", environment: [:])
        let s = try #require(good.components[.processor]?.first?.settings as? AttributesSettings)
        #expect(s.include?.matchType == .regexp && s.include?.services == ["^cart"])
        #expect(s.include?.attributes == [.init(key: "http.route", value: .string("^/api"))])
        for (body, message) in [
            ("    include: {services: [a]}\n    actions: [{key: a, value: b, action: insert}]", "match_type must be set"),
            ("    include: {match_type: strict}\n    actions: [{key: a, value: b, action: insert}]", "at least one of services"),
            ("    include: {match_type: strict, libraries: [{name: x}]}\n    actions: [{key: a, value: b, action: insert}]", "libraries is not supported"),
            ("    exclude: {match_type: regexp, span_names: ['((']}\n    actions: [{key: a, value: b, action: insert}]", "invalid regular expression"),
            ("    include: {match_type: strict, services: [a]}", "missing actions"),
        ] {
            do {
                _ = try parser.parse(yaml: yaml(body), file: "t.yaml", environment: [:])
                Issue.record("accepted: \(body)")
            } catch {
                #expect("\(error)".contains(message), "\(body): \(error)")
            }
        }
    }
}
