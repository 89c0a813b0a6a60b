import AttributeActions
import CollectorCore
import CollectorTesting
import OTLPCodec
import Testing
@testable import ResourceProcessor

/// The `resource` processor on real requests: resource attributes edited, everything else
/// byte for byte as it came.
@Suite struct ResourceProcessorTests {
    static func processor(_ actions: [AttributeAction]) -> ResourceProcessor {
        var s = ResourceSettings()
        s.actions = actions
        return ResourceProcessor(settings: s, logger: .discarding)
    }

    static func run(_ p: ResourceProcessor, _ batch: TelemetryBatch) -> [TelemetryBatch] {
        var out: [TelemetryBatch] = []
        p.process(batch, now: 0) { out.append($0) }
        return out
    }

    /// Each resource's attributes as "key=value" texts (string and int values).
    static func resources(_ bytes: [UInt8], _ signal: OTLPSignal) throws -> [[String]] {
        try bytes.withUnsafeBytes { raw in
            let layout = try OTLPRequestLayout(signal, raw)
            return layout.resources.map { r in
                OTLPAttributes.list(raw, r.resourceMessage, field: 1).map { kv in
                    let (key, value) = OTLPAttributes.read(raw, kv)
                    let text: String
                    switch value {
                    case .string(let v): text = OTLPAttributes.string(raw, v)
                    case .int(let i): text = String(i)
                    default: text = "?"
                    }
                    return OTLPAttributes.string(raw, key) + "=" + text
                }
            }
        }
    }

    @Test func editsEveryResourceOfATracesRequest() throws {
        let payload = OTLPBuild.traces([
            TestResource(service: "cart", attributes: ["secret": .string("s1")],
                         items: [TestSpan(traceID: traceID(1), spanID: spanID(1), name: "a", start: 1, end: 2)]),
            TestResource(service: "pay", items: [TestSpan(traceID: traceID(2), spanID: spanID(2), name: "b", start: 3, end: 4),
                                                 TestSpan(traceID: traceID(2), spanID: spanID(3), name: "c", start: 3, end: 5)]),
        ])
        let p = Self.processor([
            AttributeAction(kind: .upsert, key: "deployment.environment", value: .string("prod")),
            AttributeAction(kind: .delete, key: "secret"),
            AttributeAction(kind: .insert, key: "service.name", value: .string("never")),
            AttributeAction(kind: .upsert, key: "replicas", value: .int(3)),
        ])
        let token = AckTokenProbe()
        let out = Self.run(p, TelemetryBatch(signal: .traces, payload: payload, itemCount: 3, tokens: [token.token]))
        #expect(out.count == 1)
        let batch = try #require(out.first)
        #expect(batch.itemCount == 3)
        #expect(try Self.resources(batch.payload, .traces) == [
            ["service.name=cart", "deployment.environment=prod", "replicas=3"],
            ["service.name=pay", "deployment.environment=prod", "replicas=3"],
        ])
        // The spans are the same bytes.
        let before = try OTLPScanner.spans(payload).spans, after = try OTLPScanner.spans(batch.payload).spans
        #expect(after == before)
        #expect(after.map(\.name) == ["a", "b", "c"])
        // Acknowledgement travels with the rewritten batch.
        batch.complete()
        #expect(token.outcome == .success)
    }

    @Test func logsAndAResourceEntryWithoutAResource() throws {
        // ResourceLogs with no `resource` field, then one with.
        var w = PBWriter()
        w.message(1) { rl in rl.message(2) { sl in sl.message(2) { $0.string(5, "body") } } }
        let normal = OTLPBuild.logs([TestResource(service: "api", items: [TestLog(time: 5, body: "x")])])
        let payload = w.bytes + normal
        let p = Self.processor([AttributeAction(kind: .insert, key: "k8s.cluster.name", value: .string("c1"))])
        let out = Self.run(p, TelemetryBatch(signal: .logs, payload: payload, itemCount: 2))
        let batch = try #require(out.first)
        #expect(try Self.resources(batch.payload, .logs) == [["k8s.cluster.name=c1"], ["service.name=api", "k8s.cluster.name=c1"]])
        #expect(try OTLPScanner.logs(batch.payload).records.count == 2)
    }

    @Test func aRequestNoActionChangesIsPassedOnAsItCame() throws {
        let payload = OTLPBuild.traces([TestResource(service: "cart", items: [TestSpan(traceID: traceID(1), spanID: spanID(1), name: "a", start: 1, end: 2)])])
        let p = Self.processor([AttributeAction(kind: .update, key: "absent", value: .string("x")),
                                AttributeAction(kind: .delete, key: "also.absent")])
        let out = Self.run(p, TelemetryBatch(signal: .traces, payload: payload, itemCount: 1))
        #expect(out.first?.payload == payload)
    }

    @Test func configIsReadAndCheckedAsUpstream() throws {
        let parser = ConfigParser(factories: [StubComponentFactory(type: "otlp", kind: .receiver), ResourceFactory(),
                                              StubComponentFactory(type: "nop", kind: .exporter)])
        func yaml(_ attributes: String) -> String {
            """
            receivers: {otlp: {}}
            processors:
              resource:
                attributes:
            \(attributes)
            exporters: {nop: {}}
            service:
              pipelines:
                traces: {receivers: [otlp], processors: [resource], exporters: [nop]}
            """
        }
        let good = try parser.parse(yaml: yaml("""
                  - {key: cloud.zone, value: zone-1, action: upsert}
                  - {key: replicas, value: 3, action: insert}
                  - {key: user.id, action: hash}
                  - {key: http.target, pattern: '^/(?P<first>[a-z]+)', action: extract}
                  - {key: code, converted_type: int, action: convert}
                  - {key: copy, from_attribute: cloud.zone, action: insert}
            """), file: "t.yaml", environment: [:])
        let settings = try #require(good.components[.processor]?.first?.settings as? ResourceSettings)
        #expect(settings.actions.map(\.kind) == [.upsert, .insert, .hash, .extract, .convert, .insert])
        #expect(settings.actions[0].value == .string("zone-1"))
        #expect(settings.actions[1].value == .int(3))
        #expect(settings.actions[4].convertedType == .int)
        #expect(settings.actions[5].fromAttribute == "cloud.zone")

        let cases: [(String, String)] = [
            ("      - {key: a, action: upsert}", "missing value field or from_attribute field for action \"upsert\" at the 0-th action"),
            ("      - {key: a, value: b}", "missing required field \"action\" at the 0-th action"),
            ("      - {key: a, value: b, action: replace}", "unsupported action \"replace\""),
            ("      - {key: a, action: extract, pattern: '^(x)'}", "contains no named matcher groups"),
            ("      - {key: a, action: extract}", "missing required field \"pattern\" for action \"extract\""),
            ("      - {key: a, action: convert, converted_type: float}", "unsupported converted_type \"float\""),
            ("      - {action: delete}", "exactly one of \"key\" and \"pattern\""),
            ("      - {key: a, action: hash, pattern: '(('}", "invalid regular expression"),
            ("      - {key: a, value: b, from_attribute: c, action: insert}", "more than one of value and from_attribute"),
        ]
        for (entry, message) in cases {
            do {
                _ = try parser.parse(yaml: yaml(entry), file: "t.yaml", environment: [:])
                Issue.record("accepted: \(entry)")
            } catch {
                #expect("\(error)".contains(message), "\(entry): \(error)")
            }
        }
    }
}

/// An acknowledgement token whose outcome a test reads.
final class AckTokenProbe: @unchecked Sendable {
    // @unchecked: `outcome` is written once by the token's callback before the test reads it.
    enum Outcome: Equatable { case none, success, failure }
    private(set) var outcome = Outcome.none
    lazy var token = AckToken { [self] error in outcome = error == nil ? .success : .failure }
}
