import CollectorCore

/// Settings of the `probabilistic_sampler` processor, with the OTel Collector's names,
/// defaults and validation messages.
public struct ProbabilisticSamplerSettings: ComponentSettings, Equatable {
    public enum Mode: String, Sendable, Equatable {
        case hashSeed = "hash_seed", proportional, equalizing
    }

    public enum AttributeSource: String, Sendable, Equatable {
        case traceID, record
    }

    /// Percent of items kept; Go's float32, as upstream computes with it.
    public var samplingPercentage: Float = 0
    public var hashSeed: UInt32 = 0
    /// nil: `hash_seed` (upstream's default when unset).
    public var mode: Mode?
    public var failClosed = true
    public var samplingPrecision = 4
    public var attributeSource = AttributeSource.traceID
    public var fromAttribute = ""
    public var samplingPriority = ""

    public init() {}

    /// The mode in force: upstream's `makeSampler` picks hash_seed when none is set.
    public var effectiveMode: Mode { mode ?? .hashSeed }
}

public struct ProbabilisticSamplerFactory: ProcessorFactory {
    public init() {}
    public var type: String { "probabilistic_sampler" }
    public var kind: ComponentKind { .processor }
    public var signals: Set<Signal> { [.traces, .logs] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = ProbabilisticSamplerSettings()
        s.samplingPercentage = Float(reader.double("sampling_percentage", default: 0))
        s.hashSeed = UInt32(reader.int("hash_seed", default: 0, range: 0...Int(UInt32.max)))
        let mode = reader.choice("mode", ["", "hash_seed", "proportional", "equalizing"], default: "")
        s.mode = ProbabilisticSamplerSettings.Mode(rawValue: mode)
        s.failClosed = reader.bool("fail_closed", default: true)
        s.samplingPrecision = reader.int("sampling_precision", default: 4)
        let source = reader.choice("attribute_source", ["traceID", "record"], default: "traceID")
        s.attributeSource = ProbabilisticSamplerSettings.AttributeSource(rawValue: source) ?? .traceID
        s.fromAttribute = reader.string("from_attribute", default: "")
        s.samplingPriority = reader.string("sampling_priority", default: "")
        for (key, message) in Self.validate(s) { reader.problem(key, message) }
        return s
    }

    /// Upstream's `Config.Validate`, message for message.
    static func validate(_ s: ProbabilisticSamplerSettings) -> [(String, String)] {
        var problems: [(String, String)] = []
        let pct = Double(s.samplingPercentage)
        let ratio = pct / 100
        if pct.isNaN {
            problems.append(("sampling_percentage", "sampling rate is invalid: \(pct)%"))
        } else if ratio < 0 {
            problems.append(("sampling_percentage", "sampling rate is negative: \(pct)%"))
        } else if ratio > 0 && ratio < 0x1p-56 {
            problems.append(("sampling_percentage", "sampling rate is too small: \(pct)%"))
        }
        if s.samplingPrecision == 0 {
            problems.append(("sampling_precision", "invalid sampling precision: 0"))
        } else if s.samplingPrecision < 0 || s.samplingPrecision > 14 {
            problems.append(("sampling_precision", "sampling precision is too great, should be <= 14: \(s.samplingPrecision)"))
        }
        return problems
    }
}

extension ProbabilisticSamplerFactory {
    public func makeProcessor(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Processor {
        ProbabilisticSampler(settings: try context.settings(settings, as: ProbabilisticSamplerSettings.self),
                             name: context.id.description, metrics: context.metrics, logger: context.logger)
    }
}
