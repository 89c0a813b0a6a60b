import CollectorCore
import Patterns

/// Settings of the `tail_sampling` processor: the OTel Collector's keys and defaults
/// (`decision_wait` 30s, `num_traces` 50000, `expected_new_traces_per_sec`, `decision_cache`,
/// `sample_on_first_match`, `policies`), plus ours: `storage` (a directory for the crash-safe
/// span hold) and `max_held_bytes` (the bound on held span bytes in memory without storage).
public struct TailSamplingSettings: ComponentSettings, Equatable {
    public var decisionWait: UInt64 = 30_000_000_000
    public var numTraces = 50_000
    public var expectedNewTracesPerSec = 0
    public var sampledCacheSize = 0
    public var nonSampledCacheSize = 0
    public var sampleOnFirstMatch = false
    public var policies: [PolicySettings] = []
    /// Where held spans are written; nil holds them in memory.
    public var storage: String?
    /// Bound on span bytes held in memory (without `storage`); the oldest trace is decided
    /// early when it is reached.
    public var maxHeldBytes = 64 << 20

    public init() {}
}

/// One policy as configured: its name and what it checks.
public struct PolicySettings: Sendable, Equatable {
    public indirect enum Kind: Sendable, Equatable {
        case alwaysSample
        case latency(thresholdMs: Int64, upperThresholdMs: Int64)
        case numericAttribute(key: String, min: Int64, max: Int64, invert: Bool)
        case probabilistic(hashSalt: String, percentage: Double)
        case statusCode([Int])
        case stringAttribute(key: String, values: [String], regex: Bool, invert: Bool)
        case booleanAttribute(key: String, value: Bool, invert: Bool)
        case rateLimiting(spansPerSecond: Int64, burst: Int64)
        case spanCount(min: Int64, max: Int64)
        case traceState(key: String, values: [String])
        case and([PolicySettings])
        case drop([PolicySettings])
        case not(PolicySettings)
        case composite(maxTotalSpansPerSecond: Int64, subPolicies: [PolicySettings], allocation: [String: Int64])
    }

    public var name: String
    public var kind: Kind

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }
}

public struct TailSamplingFactory: ProcessorFactory {
    public init() {}
    public var type: String { "tail_sampling" }
    public var kind: ComponentKind { .processor }
    public var signals: Set<Signal> { [.traces] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = TailSamplingSettings()
        s.decisionWait = reader.duration("decision_wait", default: s.decisionWait)
        if s.decisionWait == 0 { reader.problem("decision_wait", "must be greater than 0") }
        s.numTraces = reader.int("num_traces", default: s.numTraces, range: 1...100_000_000)
        s.expectedNewTracesPerSec = reader.int("expected_new_traces_per_sec", default: 0, range: 0...Int(Int32.max))
        if let cache = reader.section("decision_cache") {
            s.sampledCacheSize = cache.int("sampled_cache_size", default: 0, range: 0...100_000_000)
            s.nonSampledCacheSize = cache.int("non_sampled_cache_size", default: 0, range: 0...100_000_000)
        }
        s.sampleOnFirstMatch = reader.bool("sample_on_first_match", default: false)
        let storage = reader.string("storage", default: "")
        s.storage = storage.isEmpty ? nil : storage
        s.maxHeldBytes = reader.int("max_held_bytes", default: s.maxHeldBytes, range: (1 << 20)...(1 << 40))
        for key in ["block_on_overflow", "drop_pending_traces_on_shutdown", "decision_wait_after_root_received",
                    "maximum_trace_size_bytes", "sampling_strategy", "tail_storage", "num_shards"] where reader.node[key] != nil {
            _ = reader.raw(key)
            reader.problem(key, "\(key) is not supported")
        }
        let policies = reader.sectionList("policies")
        if reader.node["policies"] == nil { reader.problem("policies", "at least one policy is required") }
        var names: Set<String> = []
        for p in policies {
            guard let policy = Self.policy(p, level: .top) else { continue }
            if policy.name.isEmpty {
                p.problem("name", "policy name cannot be empty")
            } else if !names.insert(policy.name).inserted {
                p.problem("name", "duplicate policy name \"\(policy.name)\"")
            }
            s.policies.append(policy)
        }
        if PolicyTree.leafCount(s.policies) > 64 {
            reader.problem("policies", "at most 64 attribute, status, latency and trace_state checks are supported")
        }
        return s
    }

    enum Level { case top, composite, nested }

    /// One policy (and its sub-policies); nil after recording a problem.
    static func policy(_ r: ConfigReader, level: Level) -> PolicySettings? {
        let name = r.string("name", default: "")
        let type = r.string("type", default: "")
        var kind: PolicySettings.Kind?
        switch type {
        case "always_sample":
            kind = .alwaysSample
        case "latency":
            guard let c = r.section("latency") else { return missing(r, "latency") }
            let lower = Int64(c.int("threshold_ms", default: 0))
            let upper = Int64(c.int("upper_threshold_ms", default: 0))
            if upper != 0 && upper < lower { c.problem("upper_threshold_ms", "must be 0 or at least threshold_ms") }
            kind = .latency(thresholdMs: lower, upperThresholdMs: upper)
        case "numeric_attribute":
            guard let c = r.section("numeric_attribute") else { return missing(r, "numeric_attribute") }
            let key = c.string("key", default: "")
            if key.isEmpty { c.problem("key", "key is required") }
            // As upstream: 0 means "not set" for either bound.
            let min = Int64(c.int("min_value", default: 0, range: Int(Int64.min)...Int(Int64.max)))
            let max = Int64(c.int("max_value", default: 0, range: Int(Int64.min)...Int(Int64.max)))
            if min == 0 && max == 0 { c.problem("min_value", "at least one of min_value or max_value must be set") }
            if min != 0 && max != 0 && min > max { c.problem("min_value", "min_value must be less than or equal to max_value") }
            kind = .numericAttribute(key: key, min: min == 0 ? .min : min, max: max == 0 ? .max : max,
                                     invert: c.bool("invert_match", default: false))
        case "probabilistic":
            guard let c = r.section("probabilistic") else { return missing(r, "probabilistic") }
            var salt = c.string("hash_salt", default: "")
            if salt.isEmpty { salt = "default-hash-seed" }
            let pct = c.double("sampling_percentage", default: 0)
            if pct < 0 { c.problem("sampling_percentage", "must not be negative") }
            kind = .probabilistic(hashSalt: salt, percentage: pct)
        case "status_code":
            guard let c = r.section("status_code") else { return missing(r, "status_code") }
            let names = c.stringList("status_codes")
            if names.isEmpty { c.problem("status_codes", "expected at least one status code to filter on") }
            var codes: [Int] = []
            for n in names {
                switch n {
                case "UNSET": codes.append(0)
                case "OK": codes.append(1)
                case "ERROR": codes.append(2)
                default: c.problem("status_codes", "unknown status code \"\(n)\", supported: OK, ERROR, UNSET")
                }
            }
            kind = .statusCode(codes)
        case "string_attribute":
            guard let c = r.section("string_attribute") else { return missing(r, "string_attribute") }
            let key = c.string("key", default: "")
            if key.isEmpty { c.problem("key", "key is required") }
            let values = c.stringList("values")
            let regex = c.bool("enabled_regex_matching", default: false)
            _ = c.int("cache_max_size", default: 128)
            if regex {
                for v in values {
                    do { _ = try Pattern(v) } catch { c.problem("values", error.description) }
                }
            }
            kind = .stringAttribute(key: key, values: values, regex: regex, invert: c.bool("invert_match", default: false))
        case "boolean_attribute":
            guard let c = r.section("boolean_attribute") else { return missing(r, "boolean_attribute") }
            let key = c.string("key", default: "")
            if key.isEmpty { c.problem("key", "key is required") }
            kind = .booleanAttribute(key: key, value: c.bool("value", default: false), invert: c.bool("invert_match", default: false))
        case "rate_limiting":
            guard let c = r.section("rate_limiting") else { return missing(r, "rate_limiting") }
            let sps = Int64(c.int("spans_per_second", default: 0, range: 0...Int(Int64.max)))
            let burst = Int64(c.int("burst_capacity", default: 0, range: 0...Int(Int64.max)))
            kind = .rateLimiting(spansPerSecond: sps, burst: burst == 0 ? 2 * sps : burst)
        case "span_count":
            guard let c = r.section("span_count") else { return missing(r, "span_count") }
            kind = .spanCount(min: Int64(c.int("min_spans", default: 0, range: 0...Int(Int32.max))),
                              max: Int64(c.int("max_spans", default: 0, range: 0...Int(Int32.max))))
        case "trace_state":
            guard let c = r.section("trace_state") else { return missing(r, "trace_state") }
            let key = c.string("key", default: "")
            if key.isEmpty { c.problem("key", "key is required") }
            let values = c.stringList("values").filter { !$0.isEmpty && key.utf8.count + $0.utf8.count < 256 }
            kind = .traceState(key: key, values: values)
        case "and", "drop":
            guard level != .nested else { return unsupported(r, type, "cannot be nested here") }
            guard let c = r.section(type) else { return missing(r, type) }
            let subs = c.sectionList("\(type)_sub_policy").compactMap { policy($0, level: .nested) }
            kind = type == "and" ? .and(subs) : .drop(subs)
            if type == "drop" && level != .top { return unsupported(r, type, "is only allowed at the top level") }
        case "not":
            guard level != .nested else { return unsupported(r, type, "cannot be nested here") }
            guard let c = r.section("not"), let sub = c.section("not_sub_policy") else { return missing(r, "not.not_sub_policy") }
            guard let inner = policy(sub, level: .nested) else { return nil }
            kind = .not(inner)
        case "composite":
            guard level == .top else { return unsupported(r, type, "is only allowed at the top level") }
            guard let c = r.section("composite") else { return missing(r, "composite") }
            let max = Int64(c.int("max_total_spans_per_second", default: 0, range: 0...Int(Int64.max)))
            _ = c.stringList("policy_order")   // parsed and not used, as upstream
            let subs = c.sectionList("composite_sub_policy").compactMap { policy($0, level: .composite) }
            var allocation: [String: Int64] = [:]
            for a in c.sectionList("rate_allocation") {
                allocation[a.string("policy", default: "")] = Int64(a.int("percent", default: 0, range: 0...100))
            }
            kind = .composite(maxTotalSpansPerSecond: max, subPolicies: subs, allocation: allocation)
        case "":
            r.problem("type", "policy type is required")
            return nil
        case "ottl_condition", "bytes_limiting", "trace_flags":
            return unsupported(r, type, "is not supported")
        default:
            r.problem("type", "unknown sampling policy type \(type)")
            return nil
        }
        return kind.map { PolicySettings(name: name, kind: $0) }
    }

    private static func missing(_ r: ConfigReader, _ key: String) -> PolicySettings? {
        r.problem("type", "policy type \(r.string("type", default: "")) needs its \(key) section")
        return nil
    }

    private static func unsupported(_ r: ConfigReader, _ type: String, _ why: String) -> PolicySettings? {
        r.problem("type", "policy type \(type) \(why)")
        return nil
    }
}

extension TailSamplingFactory {
    public func makeProcessor(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Processor {
        try TailSampler(settings: try context.settings(settings, as: TailSamplingSettings.self), name: context.id,
                        metrics: context.metrics, logger: context.logger, logs: context.host.service(HoldLogRegistry.self))
    }
}
