import CollectorCore
import CollectorTesting
import OTLPCodec
@testable import TailSampling

let second: UInt64 = 1_000_000_000

/// A tail sampler over settings, fed at explicit times (an injected clock), with what it emitted.
final class TailHarness {
    let sampler: TailSampler
    let metrics = MetricsRegistry()
    var emitted: [TelemetryBatch] = []

    init(policies: [PolicySettings], logs: HoldLogRegistry? = nil, clock: any MonotonicClock = FixedClock(0),
         _ configure: (inout TailSamplingSettings) -> Void = { _ in }) throws {
        var s = TailSamplingSettings()
        s.decisionWait = 5 * second
        s.policies = policies
        configure(&s)
        sampler = try TailSampler(settings: s, name: ComponentID(type: "tail_sampling"), metrics: metrics, logger: .discarding,
                                  logs: logs, clock: clock)
        try sampler.start()
    }

    func send(_ spans: [TestSpan], at now: UInt64, resource: [String: TestValue] = [:], token: AckToken? = nil) {
        let payload = OTLPBuild.traces([TestResource(service: "svc", attributes: resource, items: spans)])
        sampler.process(TelemetryBatch(signal: .traces, payload: payload, itemCount: spans.count, tokens: token.map { [$0] } ?? []),
                        now: now) { emitted.append($0) }
    }

    func tick(_ now: UInt64) {
        sampler.timerFired(now: now) { emitted.append($0) }
    }

    /// Trace ids (hex) of the emitted spans, with multiplicity, in order.
    var emittedTraceIDs: [String] {
        emitted.flatMap { batch in
            batch.payload.withUnsafeBytes { raw -> [String] in
                let layout = try! OTLPRequestLayout(.traces, raw)
                return layout.items.map { item in
                    let span = try! OTLPSpanFields(raw, item.payload)
                    return OTLPTraceID(raw, span.traceID)!.description
                }
            }
        }
    }

    func counter(_ name: String, _ labels: [(String, String)]) -> Int64 {
        let text = metrics.render()
        let wanted = labels.map { "\($0.0)=\"\($0.1)\"" }
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            if wanted.allSatisfy({ line.contains($0) }), let v = line.split(separator: " ").last, let n = Double(v) { return Int64(n) }
        }
        return 0
    }
}

func span(_ trace: Int, _ n: Int, start: UInt64 = 1_000 * second, durationMs: UInt64 = 10,
          attributes: [String: TestValue] = [:], status: UInt64 = 0, traceState: String = "") -> TestSpan {
    TestSpan(traceID: traceID(trace), spanID: spanID(n), traceState: traceState, name: "op", start: start,
             end: start + durationMs * 1_000_000, statusCode: status, attributes: attributes)
}

func policy(_ name: String, _ kind: PolicySettings.Kind) -> PolicySettings { PolicySettings(name: name, kind: kind) }

func hexID(_ n: Int) -> String { OTLPTraceID(bytes: traceID(n))!.description }

struct FixedClock: MonotonicClock {
    let value: UInt64
    init(_ value: UInt64) { self.value = value }
    func now() -> UInt64 { value }
}
