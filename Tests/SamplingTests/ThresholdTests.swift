import Sampling
import Testing

@Suite struct ThresholdTests {
    /// The OpenTelemetry specification's examples of `th` values (tracestate probability
    /// sampling): 100% -> 0, 50% -> 8, 25% -> c, 12.5% -> e, 10% -> e666 at 4 digits,
    /// 1/3 -> aaab, 2/3 -> 5555.
    @Test(arguments: [(1.0, "0"), (0.5, "8"), (0.25, "c"), (0.125, "e"), (0.1, "e666"), (1.0 / 3, "aaab"), (2.0 / 3, "5555")])
    func probabilityToTValue(probability: Double, tvalue: String) throws {
        let th = try #require(SamplingThreshold(probability: probability, precision: 4))
        #expect(th.tvalue == tvalue)
        #expect(SamplingThreshold(tvalue: tvalue) == th)
    }

    @Test func outOfRangeProbabilitiesHaveNoThreshold() {
        #expect(SamplingThreshold(probability: 0, precision: 4) == nil)
        #expect(SamplingThreshold(probability: 1.5, precision: 4) == nil)
        #expect(SamplingThreshold(probability: Sampling.minProbability, precision: 4)?.unsigned == Sampling.maxAdjustedCount - 1)
    }

    @Test func tvaluesParseWithPaddingAndRejectBadDigits() {
        #expect(SamplingThreshold(tvalue: "8")?.unsigned == 1 << 55)
        #expect(SamplingThreshold(tvalue: "80000000000000")?.tvalue == "8")
        #expect(SamplingThreshold(tvalue: "") == nil)
        #expect(SamplingThreshold(tvalue: "800000000000000") == nil)
        #expect(SamplingThreshold(tvalue: "8g") == nil)
        #expect(SamplingThreshold.never.tvalue == "")
    }

    @Test func randomnessFromTraceIDAndRValue() throws {
        let id: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67]
        let r = SamplingRandomness(traceIDLow7: id)
        #expect(r.rvalue == "abcdef01234567")
        #expect(SamplingRandomness(rvalue: "abcdef01234567") == r)
        #expect(SamplingRandomness(rvalue: "abcdef0123456") == nil)
        #expect(try #require(SamplingThreshold(tvalue: "abcdef01234567")).shouldSample(r))
        #expect(!(try #require(SamplingThreshold(tvalue: "abcdef01234568")).shouldSample(r)))
    }

    /// Go's hash/fnv reference values.
    @Test func fnvMatchesGo() {
        #expect(FNV1a.hash32(Array("".utf8)) == 0x811c9dc5)
        #expect(FNV1a.hash32(Array("a".utf8)) == 0xe40c292c)
        #expect(FNV1a.hash32(Array("foobar".utf8)) == 0xbf9cf968)
        #expect(FNV1a.hash64(Array("a".utf8)) == 0xaf63dc4c8601ec8c)
        #expect(FNV1a.hash64(Array("foo".utf8), Array("bar".utf8)) == 0x85944171f73967e8)
    }
}

@Suite struct W3CTraceStateTests {
    @Test func otValuesAreParsedAndWrittenBackInOrder() throws {
        var ts = try W3CTraceState(parsing: "vendor=x , ot=th:c;foo:bar;rv:0123456789abcd,other@sys=1 2")
        #expect(ts.threshold == SamplingThreshold(tvalue: "c"))
        #expect(ts.randomness == SamplingRandomness(rvalue: "0123456789abcd"))
        #expect(ts.serialized == "ot=rv:0123456789abcd;th:c;foo:bar,vendor=x,other@sys=1 2")
        let lowered = ts.updateThreshold(SamplingThreshold(tvalue: "e")!)
        #expect(lowered)
        #expect(ts.serialized == "ot=rv:0123456789abcd;th:e;foo:bar,vendor=x,other@sys=1 2")
        // Raising the probability again is refused.
        let raised = ts.updateThreshold(SamplingThreshold(tvalue: "8")!)
        #expect(!raised)
        #expect(ts.serialized.hasPrefix("ot=rv:0123456789abcd;th:e"))
    }

    @Test(arguments: ["ot=th:", "ot=rv:123", "ot=th:123456789abcdef", "Bad=1", "a=", "a=b,", "ot=th:c;;", "a=b=c", "ot=TH:8"])
    func invalidTraceStatesAreErrors(text: String) {
        #expect(throws: W3CTraceState.ParseError.self) { try W3CTraceState(parsing: text) }
    }

    @Test func emptyIsValidAndWritesNothing() throws {
        #expect(try W3CTraceState(parsing: "").serialized == "")
        var ts = try W3CTraceState(parsing: "congo=t61rcWkgMzE")
        ts.updateThreshold(.always)
        #expect(ts.serialized == "ot=th:0,congo=t61rcWkgMzE")
    }
}
