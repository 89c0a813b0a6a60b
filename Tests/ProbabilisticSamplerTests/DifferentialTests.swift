import CollectorCore
import CollectorTesting
import Foundation
import OTLPCodec
import Testing
@testable import ProbabilisticSampler

/// The sampler against an independent reimplementation in Python (the test clients'
/// `sampling_reference.py`, written from upstream's source by another hand): 100,000 random
/// trace ids per configuration, with a mix of arriving tracestates, must give exactly the same
/// kept set and the same tracestate text on every kept span. Serialized: one Python process
/// at a time, so the rest of the suite is not starved on two cores.
@Suite(.serialized) struct DifferentialTests {
    static let configurations: [(ProbabilisticSamplerSettings.Mode, Float, UInt32, Int, Bool)] = [
        (.hashSeed, 25, 0, 4, true), (.hashSeed, 10, 22, 4, true), (.hashSeed, 66.6, 4_000_000, 4, false),
        (.proportional, 25, 0, 4, true), (.proportional, 1, 0, 6, false), (.equalizing, 33.3, 0, 3, true),
        (.equalizing, 75, 0, 14, false),
    ]

    static let traceStates = ["", "", "", "ot=th:8", "ot=rv:abcdef01234567", "vendor=v1", "ot=th:c;rv:f0000000000000,x=1",
                              "ot=th:zz", "ot=foo:bar,congo=t61"]

    @Test(arguments: configurations.indices)
    func sameDecisionsAsThePythonModel(_ index: Int) async throws {
        let (mode, pct, seed, precision, failClosed) = Self.configurations[index]
        var random = SplitMix64(state: UInt64(index + 1) * 7919)
        var inputs: [(id: [UInt8], state: String)] = []
        for _ in 0..<100_000 {
            let id = (0..<16).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            inputs.append((id, Self.traceStates[Int(random.next() % UInt64(Self.traceStates.count))]))
        }
        // Ours, in batches of 1,000 spans (off the cooperative pool: seconds of CPU).
        let ours: [String: String] = try await offThePool {
            let harness = SamplerHarness {
                $0.mode = mode
                $0.samplingPercentage = pct
                $0.hashSeed = seed
                $0.samplingPrecision = precision
                $0.failClosed = failClosed
            }
            var ours: [String: String] = [:]   // kept trace id -> tracestate
            for start in stride(from: 0, to: inputs.count, by: 1_000) {
                let spans = inputs[start..<(start + 1_000)].enumerated().map { k, input in
                    TestSpan(traceID: input.id, spanID: spanID(start + k), traceState: input.state, name: "s", start: 1, end: 2)
                }
                let payload = OTLPBuild.traces([TestResource(service: "svc", items: spans)])
                for batch in harness.run(TelemetryBatch(signal: .traces, payload: payload, itemCount: spans.count)) {
                    for (id, state) in try OTLPTraceDump.spans(batch.payload) { ours[id] = state }
                }
            }
            return ours
        }
        // Theirs.
        let script = RepoPaths.clientsDirectory.appendingPathComponent("sample_ids.py").path
        let input = inputs.map { i in i.id.map { String(format: "%02x", $0) }.joined() + " " + (i.state.isEmpty ? "-" : i.state) }
            .joined(separator: "\n") + "\n"
        let work = try TemporaryDirectory(prefix: "sampling-diff")
        try input.write(to: work.file("ids.txt"), atomically: true, encoding: .utf8)
        let result = try await CommandRunner.run(URL(fileURLWithPath: "/usr/bin/env"), arguments: [
            "python3", script, mode.rawValue, String(pct), String(seed), String(precision), String(failClosed), work.file("ids.txt").path,
        ], timeout: .seconds(300))
        #expect(result.exitCode == 0, "\(result.stderr)")
        var theirs: [String: String] = [:]
        for (i, line) in result.stdout.split(separator: "\n").enumerated() where line.hasPrefix("1") {
            let state = String(line.dropFirst(2))
            theirs[inputs[i].id.map { String(format: "%02x", $0) }.joined()] = state == "-" ? "" : state
        }
        #expect(theirs.count > 0)
        #expect(Set(ours.keys) == Set(theirs.keys), "kept sets differ: \(ours.count) vs \(theirs.count)")
        let differing = ours.filter { theirs[$0.key] != nil && theirs[$0.key] != $0.value }
        #expect(differing.count == 0, "\(differing.count) tracestates differ, e.g. \(differing.first.map { "\($0.key): ours \($0.value), theirs \(theirs[$0.key]!)" } ?? "")")
        print("\(mode.rawValue) \(pct)% seed \(seed) precision \(precision): \(ours.count) of 100000 kept by both")
    }
}
