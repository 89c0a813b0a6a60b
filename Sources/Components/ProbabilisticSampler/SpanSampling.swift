import CollectorCore
import OTLPCodec
import Sampling

/// Spans: randomness from the trace id (hashed with the seed in hash_seed mode, its last 56
/// bits otherwise) or the tracestate's `ot=rv:`, the arriving threshold from `ot=th:`, the
/// `sampling.priority` span attribute (0 drops, > 0 keeps; int, double or numeric string), and
/// the tracestate written back on kept spans.
extension ProbabilisticSampler {
    static let priorityKey = Array("sampling.priority".utf8)

    func sampleSpans(_ raw: UnsafeRawBufferPointer) throws(OTLPDecodeError) -> (bytes: [UInt8], count: Int)? {
        let layout = try OTLPRequestLayout(.traces, raw)
        var kept: [Int] = []
        kept.reserveCapacity(layout.items.count)
        var replacements: [Int: [UInt8]] = [:]
        var span = OTLPSpanFields()
        var tally = DecisionTally()
        defer { tally.flush(into: self, .traces) }
        for (index, item) in layout.items.enumerated() {
            try span.read(raw, item.payload)
            let (sampled, newTraceState) = decide(span, raw, &tally)
            guard sampled else { continue }
            kept.append(index)
            if let newTraceState {
                replacements[index] = OTLPFieldEdit.replacingBytesField(
                    3, in: item.payload, of: raw, with: newTraceState.isEmpty ? nil : Array(newTraceState.utf8))
            }
        }
        return Self.rewrite(layout, raw, kept: kept, replacements: replacements)
    }

    /// The decision for one span and, when kept with changed sampling information, its new
    /// tracestate text.
    func decide(_ span: OTLPSpanFields, _ raw: UnsafeRawBufferPointer, _ tally: inout DecisionTally) -> (Bool, String?) {
        // Borrowed in place: generic slices of the buffer are slow here.
        let id = OTLPTraceID(raw, span.traceID)
        let traceID = id.map { _ in UnsafeRawBufferPointer(rebasing: raw[span.traceID]) }
        let text = span.traceState.isEmpty ? "" : OTLPAttributes.string(raw, span.traceState)
        var parsed: W3CTraceState? = text.isEmpty ? W3CTraceState() : try? W3CTraceState(parsing: text)
        var failed = parsed == nil
        var randomness = SamplingDecider.NamedRandomness.missing
        switch decider.kind {
        case .never:
            randomness = .init(name: "sampling_priority", value: .allProbabilities)
        case .hashing(let seed, _):
            if let traceID { randomness = .init(name: "trace_id_hash", value: SamplingDecider.hashedRandomness(traceID, seed: seed)) }
            if let state = parsed {
                if state.randomness != nil || state.threshold != nil {
                    // ErrRandomnessInUse / ErrThresholdInUse: this mode leaves such spans alone.
                    failed = true
                    parsed = nil
                } else {
                    parsed!.randomness = randomness.value
                }
            }
        case .equalizing, .proportional:
            if let rv = parsed?.randomness {
                randomness = .init(name: "sampling_randomness", value: rv)
            } else if parsed != nil, let id {
                // The last 7 bytes of the id.
                randomness = .init(name: "trace_id_w3c", value: SamplingRandomness(unsigned: id.low & 0x00FF_FFFF_FFFF_FFFF)!)
            }
        }
        let result = decider.decide(randomness: randomness, carrier: &parsed, failed: failed,
                                    priority: spanPriority(span, raw))
        tally.add(result.policy, result.sampled)
        guard result.sampled else { return (false, nil) }
        guard result.changed, let parsed else { return (true, nil) }
        let serialized = parsed.serialized
        return (true, serialized == text ? nil : serialized)
    }

    /// `sampling.priority` as upstream's `parseSpanSamplingPriority` reads it.
    func spanPriority(_ span: OTLPSpanFields, _ raw: UnsafeRawBufferPointer) -> SamplingThreshold? {
        guard !span.attributes.isEmpty, let value = OTLPAttributes.find(raw, span.attributes, key: Self.priorityKey) else { return nil }
        let number: Double?
        switch value {
        case .int(let i): number = Double(i)
        case .double(let d): number = d
        case .string(let r): number = Double(OTLPAttributes.string(raw, r))
        default: number = nil
        }
        guard let number else { return nil }
        if number == 0 { return .never }
        if number > 0 { return .always }
        return nil
    }
}
