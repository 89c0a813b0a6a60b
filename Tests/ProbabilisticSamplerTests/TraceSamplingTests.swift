import CollectorCore
import CollectorTesting
import Testing
@testable import ProbabilisticSampler

/// Decisions against the OTel Collector's own test vectors (tracesprocessor_test.go), which
/// are facts about its behaviour: same trace ids, same tracestate in, same decision and
/// tracestate out.
@Suite struct TraceSamplingTests {
    /// TestHashingFunction: 100 seeds and trace ids at 50% in hash_seed mode.
    @Test func hashSeedDecisionsMatchUpstreamVectors() throws {
        let vectors = try Fixtures.lines("hash_seed_50pct.txt")
        #expect(vectors.count == 100)
        for v in vectors {
            let harness = SamplerHarness {
                $0.samplingPercentage = 50
                $0.hashSeed = UInt32(v[0])!
                $0.failClosed = false
            }
            let kept = try harness.span(traceID: hexBytes(v[1])) != nil
            #expect(kept == (v[2] == "true"), "seed \(v[0]) trace \(v[1])")
        }
    }

    /// Test_tracesamplerprocessor_HashSeedTraceState: kept spans carry `ot=rv:<14 hex>;th:<t>`.
    @Test(arguments: [(Float(100), "0"), (75, "4"), (50, "8"), (25, "c"), (10, "e668"), (Float(100.0 / 3), "aaac")])
    func hashSeedWritesRandomnessAndThreshold(percent: Float, tvalue: String) throws {
        let harness = SamplerHarness {
            $0.samplingPercentage = percent
            $0.hashSeed = 4242
            $0.mode = .hashSeed
        }
        var random = SplitMix64(state: 7)
        var found = 0
        while found < 10 {
            let id = (0..<16).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            guard let ts = try harness.span(traceID: id) else { continue }
            found += 1
            let parts = ts.split(separator: ";")
            #expect(parts.count == 2)
            #expect(parts[0].hasPrefix("ot=rv:") && parts[0].count == 20)
            #expect(parts[1] == "th:\(tvalue)")
        }
    }

    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var percent: Float
        var precision = 0
        var failClosed = false
        var traceID = "fefefefefefefefefe80000000000000"
        var traceState = ""
        var priority: TestValue?
        /// Expected tracestate when kept (nil: dropped), per mode.
        var equalizing: String?
        var proportional: String?
        var description: String { name }
    }

    static let improbable = "111111111111111111ffffffffffffff"

    /// Test_tracesamplerprocessor_TraceState, both consistent modes.
    static let cases: [Case] = [
        Case(name: "100 percent", percent: 100, equalizing: "ot=th:0", proportional: "ot=th:0"),
        Case(name: "50 percent sampled", percent: 50, equalizing: "ot=th:8", proportional: "ot=th:8"),
        Case(name: "25 percent sampled", percent: 25, traceID: "ddddddddddddddddddc0000000000000", equalizing: "ot=th:c", proportional: "ot=th:c"),
        Case(name: "25 percent unsampled", percent: 25, traceID: "ddddddddddddddddddb0000000000000"),
        Case(name: "1 percent sampled", percent: 1, traceState: "ot=rv:FD70A3D70A3D71",
             equalizing: "ot=rv:FD70A3D70A3D71;th:fd70a3d70a3d71", proportional: "ot=rv:FD70A3D70A3D71;th:fd70a3d70a3d71"),
        Case(name: "1 percent precision 4", percent: 1, precision: 4, traceState: "ot=rv:FD70A3D70A3D71",
             equalizing: "ot=rv:FD70A3D70A3D71;th:fd70a", proportional: "ot=rv:FD70A3D70A3D71;th:fd70a"),
        Case(name: "1 percent precision 3", percent: 1, precision: 3, traceState: "ot=rv:FD70A3D70A3D71"),
        Case(name: "1 percent not sampled with rvalue", percent: 1, traceState: "ot=rv:FD70A3D70A3D70"),
        Case(name: "49 percent not sampled", percent: 49),
        Case(name: "1 percent sampled with rvalue", percent: 1, traceState: "ot=rv:fd70B000000000",
             equalizing: "ot=rv:fd70B000000000;th:fd70a3d70a3d71", proportional: "ot=rv:fd70B000000000;th:fd70a3d70a3d71"),
        Case(name: "1 percent sampled with tid", percent: 1, precision: 4, traceID: "a0a0a0a0a0a0a0a0a0fe000000000000",
             equalizing: "ot=th:fd70a", proportional: "ot=th:fd70a"),
        Case(name: "sampled by priority", percent: 1, priority: .int(2), equalizing: "ot=th:0", proportional: "ot=th:0"),
        Case(name: "not sampled by priority", percent: 99, priority: .int(0)),
        Case(name: "incoming 50 percent with rvalue", percent: 50, traceState: "ot=rv:90000000000000;th:80000000000000",
             equalizing: "ot=rv:90000000000000;th:8"),
        Case(name: "incoming 50 percent at 25 percent not sampled", percent: 25, traceState: "ot=th:8"),
        Case(name: "incoming 50 percent at 25 percent sampled", percent: 25, traceID: "ffffffffffffffffffffffffffffffff",
             traceState: "ot=th:8", equalizing: "ot=th:c", proportional: "ot=th:e"),
        Case(name: "equalizing vs proportional", percent: 50, traceState: "ot=rv:c0000000000000;th:8",
             equalizing: "ot=rv:c0000000000000;th:8", proportional: "ot=rv:c0000000000000;th:c"),
        Case(name: "inconsistent arriving threshold", percent: 100, traceState: "ot=rv:40000000000000;th:8",
             equalizing: "ot=rv:40000000000000;th:0", proportional: "ot=rv:40000000000000;th:0"),
        Case(name: "inconsistent arriving threshold not sampled", percent: 1, failClosed: true, traceState: "ot=rv:40000000000000;th:8"),
        Case(name: "40 percent precision 3 with rvalue", percent: 40, precision: 3, traceState: "ot=rv:a0000000000000",
             equalizing: "ot=rv:a0000000000000;th:99a", proportional: "ot=rv:a0000000000000;th:99a"),
        Case(name: "arriving 50 percent at 40 percent precision 6", percent: 40, precision: 6, traceID: "a0a0a0a0a0a0a0a0a0d0000000000000",
             traceState: "ot=th:8", equalizing: "ot=th:99999a", proportional: "ot=th:cccccd"),
        Case(name: "arriving 50 percent at 40 percent partly sampled", percent: 40, precision: 3, traceID: "a0a0a0a0a0a0a0a0a0b0000000000000",
             traceState: "ot=th:8", equalizing: "ot=th:99a"),
        Case(name: "arriving 50 percent at 40 percent not sampled", percent: 40, precision: 3, traceID: "a0a0a0a0a0a0a0a0a080000000000000",
             traceState: "ot=th:8"),
        Case(name: "200 percent equals 100 percent", percent: 200, equalizing: "ot=th:0", proportional: "ot=th:0"),
        Case(name: "tiny probability rounding", percent: 100 * 0x1p-14, traceID: improbable, traceState: "ot=th:fffc",
             equalizing: "ot=th:fffc", proportional: "ot=th:fffffff"),
        Case(name: "almost 100pct sampling", percent: (1 - 8e-7) * 100, precision: 10, traceID: improbable,
             equalizing: "ot=th:00000cccccccd", proportional: "ot=th:00000cccccccd"),
        Case(name: "probability underflow", percent: 0x1p-4, traceID: improbable, traceState: "ot=th:fffffffffffff8",
             equalizing: "ot=th:fffffffffffff8"),
    ]

    @Test(arguments: cases)
    func consistentModesMatchUpstream(_ c: Case) throws {
        for mode in [ProbabilisticSamplerSettings.Mode.equalizing, .proportional] {
            let harness = SamplerHarness {
                $0.samplingPercentage = c.percent
                $0.samplingPrecision = c.precision
                $0.failClosed = c.failClosed
                $0.mode = mode
            }
            let got = try harness.span(traceID: hexBytes(c.traceID), traceState: c.traceState,
                                       attributes: c.priority.map { ["sampling.priority": $0] } ?? [:])
            #expect(got == (mode == .equalizing ? c.equalizing : c.proportional), "\(mode)")
        }
    }

    /// Test_tracesamplerprocessor_TraceStateErrors: with fail_closed these spans are dropped.
    @Test(arguments: [("00000000000000000000000000000000", ""), ("fefefefefefefefefe80000000000000", "ot=rv:abababababababab"),
                      ("fefefefefefefefefe80000000000000", "ot=th:abababababababab"), ("fefefefefefefefefe80000000000000", "ot=th:-1"),
                      ("ffffffffffffffffff70000000000000", "ot=th:8"), ("fefefefefefefefefe80000000000000", "ot=th:8;rv:70000000000000")])
    func errorsDropUnderFailClosed(traceID: String, traceState: String) throws {
        for mode in [ProbabilisticSamplerSettings.Mode.equalizing, .proportional] {
            let closed = SamplerHarness { $0.samplingPercentage = 100; $0.mode = mode; $0.failClosed = true }
            #expect(try closed.span(traceID: hexBytes(traceID), traceState: traceState) == nil)
            // Open, the same spans pass.
            let open = SamplerHarness { $0.samplingPercentage = 100; $0.mode = mode; $0.failClosed = false }
            #expect(try open.span(traceID: hexBytes(traceID), traceState: traceState) != nil)
        }
    }

    @Test func hashSeedLeavesSpansWithExplicitRandomnessAlone() throws {
        let closed = SamplerHarness { $0.samplingPercentage = 100; $0.hashSeed = 1 }
        #expect(try closed.span(traceID: hexBytes(Self.improbable), traceState: "ot=rv:12345678901234") == nil)
        let open = SamplerHarness { $0.samplingPercentage = 100; $0.hashSeed = 1; $0.failClosed = false }
        // Kept, tracestate untouched.
        #expect(try open.span(traceID: hexBytes(Self.improbable), traceState: "ot=rv:12345678901234,x=y") == "ot=rv:12345678901234,x=y")
    }

    @Test func otherVendorsEntriesAreKept() throws {
        let harness = SamplerHarness { $0.samplingPercentage = 100; $0.mode = .proportional }
        #expect(try harness.span(traceID: hexBytes(Self.improbable), traceState: "congo=t61rcWkgMzE,ot=foo:bar")
            == "ot=th:0;foo:bar,congo=t61rcWkgMzE")
    }
}
