import CollectorCore
import OTLPCodec
import Sampling

/// Log records: randomness from the trace id (`attribute_source: traceID`) or, in hash_seed
/// mode, from the `from_attribute` value hashed with the seed; the arriving threshold and
/// randomness from the `sampling.threshold` / `sampling.randomness` string attributes, which
/// kept records get written; `sampling_priority` names an int or double attribute whose value
/// (a percentage) replaces the threshold.
extension ProbabilisticSampler {
    static let thresholdKey = "sampling.threshold"
    static let randomnessKey = "sampling.randomness"

    /// The sampling attributes of one record (upstream's `recordCarrier`).
    struct RecordCarrier: SamplingCarrier {
        var threshold: SamplingThreshold?
        var randomness: SamplingRandomness?
        /// Attributes to write on a kept record.
        var writeThreshold = false
        var writeRandomness = false

        mutating func clearThreshold() {
            threshold = nil
            writeThreshold = true
        }

        mutating func updateThreshold(_ new: SamplingThreshold) -> Bool {
            if let threshold, new < threshold { return false }
            threshold = new
            writeThreshold = true
            return true
        }
    }

    func sampleLogs(_ raw: UnsafeRawBufferPointer) throws(OTLPDecodeError) -> (bytes: [UInt8], count: Int)? {
        let layout = try OTLPRequestLayout(.logs, raw)
        var kept: [Int] = []
        kept.reserveCapacity(layout.items.count)
        var replacements: [Int: [UInt8]] = [:]
        var tally = DecisionTally()
        defer { tally.flush(into: self, .logs) }
        for (index, item) in layout.items.enumerated() {
            let (traceID, attributes) = Self.recordFields(raw, item.payload)
            var failed = false
            var carrier: RecordCarrier? = RecordCarrier()
            for (key, value) in [(Self.thresholdKey, 0), (Self.randomnessKey, 1)] {
                guard case .string(let r)? = OTLPAttributes.find(raw, attributes, key: Array(key.utf8)), !r.isEmpty else { continue }
                let text = OTLPAttributes.string(raw, r)
                if value == 0 {
                    if let t = SamplingThreshold(tvalue: text) { carrier!.threshold = t } else { failed = true }
                } else {
                    if let v = SamplingRandomness(rvalue: text) { carrier!.randomness = v } else { failed = true }
                }
            }
            var randomness = SamplingDecider.NamedRandomness.missing
            switch decider.kind {
            case .never:
                randomness = .init(name: "sampling_priority", value: .allProbabilities)
                if failed { carrier = nil }
            case .hashing(let seed, _):
                if settings.attributeSource == .traceID, let traceID {
                    randomness = .init(name: "trace_id_hash", value: SamplingDecider.hashedRandomness(traceID, seed: seed))
                }
                if randomness.isMissing, !settings.fromAttribute.isEmpty,
                   let value = OTLPAttributes.find(raw, attributes, key: Array(settings.fromAttribute.utf8)),
                   let bytes = Self.valueBytes(value, raw), !bytes.isEmpty {
                    randomness = .init(name: settings.fromAttribute, value: SamplingDecider.hashedRandomness(bytes, seed: seed))
                }
                if failed || carrier!.randomness != nil || carrier!.threshold != nil {
                    failed = true
                    carrier = nil
                } else if !randomness.isMissing {
                    carrier!.randomness = randomness.value
                    carrier!.writeRandomness = true
                }
            case .equalizing, .proportional:
                if failed {
                    carrier = nil
                } else if let rv = carrier!.randomness {
                    randomness = .init(name: "sampling_randomness", value: rv)
                } else if let traceID {
                    randomness = .init(name: "trace_id_w3c", value: SamplingRandomness(traceIDLow7: traceID))
                }
            }
            let result = decider.decide(randomness: randomness, carrier: &carrier, failed: failed,
                                        priority: logPriority(attributes, raw))
            tally.add(result.policy, result.sampled)
            guard result.sampled else { continue }
            kept.append(index)
            if let carrier, carrier.writeThreshold || carrier.writeRandomness {
                replacements[index] = Self.writing(carrier, into: item.payload, raw)
            }
        }
        return Self.rewrite(layout, raw, kept: kept, replacements: replacements)
    }

    /// The record's trace id (16 bytes, not all zero) and attribute `KeyValue`s.
    static func recordFields(_ raw: UnsafeRawBufferPointer, _ payload: Range<Int>) -> ([UInt8]?, [Range<Int>]) {
        var traceID: [UInt8]?
        var attributes: [Range<Int>] = []
        for range in OTLPAttributes.list(raw, payload, field: 9) where range.count == 16 {
            let bytes = Array(raw[range])
            traceID = bytes.allSatisfy { $0 == 0 } ? nil : bytes
        }
        attributes = OTLPAttributes.list(raw, payload, field: 6)
        return (traceID, attributes)
    }

    /// Upstream's `getBytesFromValue`: a string's bytes, or the value's text.
    static func valueBytes(_ value: OTLPValue, _ raw: UnsafeRawBufferPointer) -> [UInt8]? {
        switch value {
        case .string(let r): Array(raw[r])
        case .int(let i): Array(String(i).utf8)
        case .bool(let b): Array((b ? "true" : "false").utf8)
        case .double(let d): Array(String(d).utf8)
        case .other: nil
        }
    }

    /// `sampling_priority`: the named attribute's number is a minimum percentage to keep.
    func logPriority(_ attributes: [Range<Int>], _ raw: UnsafeRawBufferPointer) -> SamplingThreshold? {
        guard !settings.samplingPriority.isEmpty,
              let value = OTLPAttributes.find(raw, attributes, key: Array(settings.samplingPriority.utf8)) else { return nil }
        let minProbability: Double
        switch value {
        case .double(let d): minProbability = d / 100
        case .int(let i): minProbability = Double(i) / 100
        default: return nil
        }
        guard minProbability != 0 else { return nil }
        return SamplingThreshold(probability: minProbability, precision: settings.samplingPrecision)
    }

    /// The record with its sampling attributes replaced by the carrier's.
    static func writing(_ carrier: RecordCarrier, into payload: Range<Int>, _ raw: UnsafeRawBufferPointer) -> [UInt8] {
        var drop: [[UInt8]] = []
        var add: [[UInt8]] = []
        if carrier.writeThreshold {
            drop.append(Array(thresholdKey.utf8))
            if let t = carrier.threshold, t != .never { add.append(OTLPFieldEdit.stringKeyValue(key: thresholdKey, value: t.tvalue)) }
        }
        if carrier.writeRandomness, let r = carrier.randomness {
            drop.append(Array(randomnessKey.utf8))
            add.append(OTLPFieldEdit.stringKeyValue(key: randomnessKey, value: r.rvalue))
        }
        var record = OTLPFieldEdit.removingAttributes(6, keys: drop, in: payload, of: raw)
        for kv in add {
            record = record.withUnsafeBytes { OTLPFieldEdit.appendingBytesField(6, in: 0..<$0.count, of: $0, value: kv) }
        }
        return record
    }
}
