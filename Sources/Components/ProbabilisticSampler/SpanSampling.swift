import CollectorCore
import OTLPCodec
import Sampling

/// Spans: randomness from the trace id (hashed with the seed in hash_seed mode, its last 56
/// bits otherwise) or the tracestate's `ot=rv:`, the arriving threshold from `ot=th:`, the
/// `sampling.priority` span attribute (0 drops, > 0 keeps; int, double or numeric string), and
/// the tracestate written back on kept spans.
///
/// Hot path: a span is read for its trace id, tracestate and `sampling.priority` only
/// (`OTLPSpanSamplingFields`). A span without a tracestate (most of them) is decided with a
/// `FreshTraceState` and its new tracestate written as bytes; one with a tracestate is parsed
/// (`W3CTraceState`, keeping other vendors' entries). Kept spans are written with their new
/// tracestate field spliced in (`OTLPRequestLayout.ItemEdit`), not rebuilt one by one.
extension ProbabilisticSampler {
    static let priorityKey = Array("sampling.priority".utf8)

    func sampleSpans(_ raw: UnsafeRawBufferPointer) throws(OTLPDecodeError) -> (bytes: [UInt8], count: Int)? {
        let layout = try OTLPRequestLayout(.traces, raw)
        var kept: [Int] = []
        kept.reserveCapacity(layout.items.count)
        var edits: [OTLPRequestLayout.ItemEdit] = []
        // The new tracestate fields, one after the other.
        var fields: [UInt8] = []
        var text: [UInt8] = []
        var span = OTLPSpanSamplingFields()
        var tally = DecisionTally()
        defer { tally.flush(into: self, .traces) }
        for (index, item) in layout.items.enumerated() {
            try span.read(raw, item.payload, attributeKey: Self.priorityKey)
            text.removeAll(keepingCapacity: true)
            let outcome = decide(span, raw, &tally, newTraceState: &text)
            guard outcome != .dropped else { continue }
            kept.append(index)
            guard outcome == .changed else { continue }
            // Changed: the old field (if any) cut, the new one (if not empty) put in its place.
            let start = fields.count
            if !text.isEmpty {
                fields.append(0x1A)  // field 3, length-delimited
                var n = UInt64(text.count)
                while n >= 0x80 { fields.append(UInt8(truncatingIfNeeded: n) | 0x80); n >>= 7 }
                fields.append(UInt8(n))
                fields.append(contentsOf: text)
            }
            let cut = span.traceStateField ?? span.traceStateInsertion..<span.traceStateInsertion
            edits.append(.init(item: index, cut: cut, insert: start..<fields.count))
        }
        if kept.count == layout.items.count && edits.isEmpty { return nil }
        if kept.isEmpty { return ([], 0) }
        let bytes = fields.withUnsafeBytes { layout.write(kept, from: raw, edits: edits, editBytes: $0) }
        return (bytes, kept.count)
    }

    enum Outcome { case dropped, unchanged, changed }

    /// The decision for one span. When it is kept with changed sampling information
    /// (`.changed`), its new tracestate text is put in `newTraceState` (left empty when the
    /// tracestate is to be removed).
    func decide(_ span: OTLPSpanSamplingFields, _ raw: UnsafeRawBufferPointer, _ tally: inout DecisionTally,
                newTraceState: inout [UInt8]) -> Outcome {
        // Borrowed in place: generic slices of the buffer are slow here.
        let id = OTLPTraceID(raw, span.traceID)
        let priority = spanPriority(span, raw)
        if span.traceState.isEmpty {
            let randomness = traceIDRandomness(id, span, raw)
            // hash_seed writes the randomness it used as `rv`.
            var state: FreshTraceState? = FreshTraceState()
            if case .hashing = decider.kind { state!.randomness = randomness.value }
            let result = decider.decide(randomness: randomness, carrier: &state, failed: false, priority: priority)
            tally.add(result.policy, result.sampled)
            guard result.sampled else { return .dropped }
            if result.changed, let state { state.append(to: &newTraceState) }
            return newTraceState.isEmpty ? .unchanged : .changed  // nothing to write: unchanged
        }
        let text = OTLPAttributes.string(raw, span.traceState)
        var parsed: W3CTraceState? = try? W3CTraceState(parsing: text)
        var failed = parsed == nil
        var randomness = SamplingDecider.NamedRandomness.missing
        switch decider.kind {
        case .never:
            randomness = traceIDRandomness(id, span, raw)
        case .hashing:
            randomness = traceIDRandomness(id, span, raw)
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
            } else if parsed != nil {
                randomness = traceIDRandomness(id, span, raw)
            }
        }
        let result = decider.decide(randomness: randomness, carrier: &parsed, failed: failed, priority: priority)
        tally.add(result.policy, result.sampled)
        guard result.sampled else { return .dropped }
        guard result.changed, let parsed else { return .unchanged }
        let serialized = parsed.serialized
        if serialized == text { return .unchanged }
        newTraceState.append(contentsOf: serialized.utf8)
        return .changed
    }

    /// The randomness the mode takes from the trace id: its FNV-1a-32 hash with the seed in
    /// hash_seed mode, its last 56 bits otherwise (missing without a valid id).
    private func traceIDRandomness(_ id: OTLPTraceID?, _ span: OTLPSpanSamplingFields,
                                   _ raw: UnsafeRawBufferPointer) -> SamplingDecider.NamedRandomness {
        switch decider.kind {
        case .never:
            return .init(name: "sampling_priority", value: .allProbabilities)
        case .hashing(let seed, _):
            guard id != nil else { return .missing }
            return .init(name: "trace_id_hash",
                         value: SamplingDecider.hashedRandomness(UnsafeRawBufferPointer(rebasing: raw[span.traceID]), seed: seed))
        case .equalizing, .proportional:
            guard let id else { return .missing }
            return .init(name: "trace_id_w3c", value: SamplingRandomness(unsigned: id.low & 0x00FF_FFFF_FFFF_FFFF)!)
        }
    }

    /// `sampling.priority` as upstream's `parseSpanSamplingPriority` reads it.
    func spanPriority(_ span: OTLPSpanSamplingFields, _ raw: UnsafeRawBufferPointer) -> SamplingThreshold? {
        guard let value = span.attribute else { return nil }
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

/// The sampling state of a span that arrived without a tracestate: what `W3CTraceState` would
/// hold after parsing "" and the decision's updates, written as bytes (`ot=rv:...;th:...`).
struct FreshTraceState: SamplingCarrier {
    var randomness: SamplingRandomness?
    private(set) var threshold: SamplingThreshold?

    mutating func clearThreshold() { threshold = nil }

    /// As `W3CTraceState.updateThreshold` (never lowers an arriving threshold; none arrived).
    @discardableResult mutating func updateThreshold(_ sampled: SamplingThreshold) -> Bool {
        if let current = threshold, current > sampled { return false }
        threshold = sampled == .never ? nil : sampled
        return true
    }

    /// The tracestate text; nothing when there is no sampling information. At most 38 bytes
    /// (`ot=rv:` + 14 digits + `;th:` + 14 digits), written in one append.
    func append(to out: inout [UInt8]) {
        guard randomness != nil || threshold != nil else { return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 40) { buffer in
            var n = 0
            func put(_ b: UInt8) { buffer[n] = b; n += 1 }
            func hex(_ value: UInt64, _ digits: Int) {
                var shift = 4 * (digits - 1)
                while shift >= 0 {
                    let d = UInt8(truncatingIfNeeded: value >> UInt64(shift)) & 0xF
                    put(d < 10 ? d + 0x30 : d + 0x57)
                    shift -= 4
                }
            }
            put(0x6F); put(0x74); put(0x3D)  // "ot="
            if let randomness {
                put(0x72); put(0x76); put(0x3A)  // "rv:"
                hex(randomness.unsigned, Sampling.hexDigits)
            }
            if let threshold {
                if randomness != nil { put(0x3B) }  // ";"
                put(0x74); put(0x68); put(0x3A)  // "th:"
                // As `tvalue`: trailing zeros removed, "0" for always.
                var digits = Sampling.hexDigits, v = threshold.unsigned
                if v == 0 { digits = 1 } else { while v & 0xF == 0 { v >>= 4; digits -= 1 } }
                hex(v, digits)
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<n]))
        }
    }
}
