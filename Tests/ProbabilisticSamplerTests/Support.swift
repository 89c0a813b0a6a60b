import CollectorCore
import CollectorTesting
import Foundation
import OTLPCodec
@testable import ProbabilisticSampler

enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func lines(_ name: String) throws -> [[String]] {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: " ").map(String.init) }
    }
}

func hexBytes(_ hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var i = hex.startIndex
    while i < hex.endIndex {
        let j = hex.index(i, offsetBy: 2)
        out.append(UInt8(hex[i..<j], radix: 16)!)
        i = j
    }
    return out
}

/// A sampler over settings, with what it emitted.
struct SamplerHarness {
    let sampler: ProbabilisticSampler
    let metrics = MetricsRegistry()

    init(_ configure: (inout ProbabilisticSamplerSettings) -> Void) {
        var s = ProbabilisticSamplerSettings()
        configure(&s)
        sampler = ProbabilisticSampler(settings: s, name: "probabilistic_sampler", metrics: metrics, logger: .discarding)
    }

    /// The emitted batches for one batch in.
    func run(_ batch: TelemetryBatch) -> [TelemetryBatch] {
        var out: [TelemetryBatch] = []
        sampler.process(batch, now: 0) { out.append($0) }
        return out
    }

    /// One span in: nil when dropped, else its tracestate as emitted.
    func span(traceID: [UInt8], traceState: String = "", attributes: [String: TestValue] = [:]) throws -> String? {
        let payload = OTLPBuild.traces([TestResource(service: "svc", items: [
            TestSpan(traceID: traceID, spanID: hexBytes("00000000fefefefe"), traceState: traceState, name: "s",
                     start: 1, end: 2, attributes: attributes),
        ])])
        let out = run(TelemetryBatch(signal: .traces, payload: payload, itemCount: 1))
        guard let batch = out.first else { return nil }
        let decoded = try OTLPTraceDump.spans(batch.payload)
        return decoded.first?.traceState
    }
}

/// Reads emitted spans back with the wire readers (trace id hex, tracestate).
enum OTLPTraceDump {
    static func spans(_ bytes: [UInt8]) throws -> [(traceID: String, traceState: String)] {
        try bytes.withUnsafeBytes { raw in
            let layout = try OTLPRequestLayout(.traces, raw)
            return try layout.items.map { item in
                let span = try OTLPSpanFields(raw, item.payload)
                return (raw[span.traceID].map { String(format: "%02x", $0) }.joined(), OTLPAttributes.string(raw, span.traceState))
            }
        }
    }
}
