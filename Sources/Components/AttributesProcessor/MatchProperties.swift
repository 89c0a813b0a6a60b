import AttributeActions
import CollectorCore
import OTLPCodec
import Patterns

/// The `include` / `exclude` sections of the `attributes` processor (upstream's
/// `filterconfig.MatchProperties`): an item matches when every property given matches
/// (services, span names, span kinds, log bodies and severity texts: any entry of the list;
/// attributes and resources: every entry), compared exactly (`match_type: strict`) or by RE2
/// pattern found anywhere in the text (`regexp`, Go's `MatchString`).
public struct MatchProperties: Sendable, Equatable {
    public enum MatchType: String, Sendable { case strict, regexp }

    public struct Entry: Sendable, Equatable {
        public var key: String
        /// nil: the key only has to be present.
        public var value: AttributeAction.Literal?
    }

    public var matchType = MatchType.strict
    public var services: [String] = []
    public var spanNames: [String] = []
    public var spanKinds: [String] = []
    public var logBodies: [String] = []
    public var logSeverityTexts: [String] = []
    public var attributes: [Entry] = []
    public var resources: [Entry] = []

    public init() {}

    /// Reads a section, recording problems (as upstream: `match_type` is required and at least
    /// one property must be given; properties we do not implement are config errors).
    static func read(_ r: ConfigReader) -> MatchProperties {
        var m = MatchProperties()
        let type = r.choice("match_type", ["strict", "regexp"], default: "")
        if type.isEmpty { r.problem("match_type", "match_type must be set") }
        m.matchType = MatchType(rawValue: type) ?? .strict
        m.services = r.stringList("services")
        m.spanNames = r.stringList("span_names")
        m.spanKinds = r.stringList("span_kinds")
        m.logBodies = r.stringList("log_bodies")
        m.logSeverityTexts = r.stringList("log_severity_texts")
        func entries(_ key: String) -> [Entry] {
            r.sectionList(key).map { e in
                let k = e.string("key", default: "")
                if k.isEmpty { e.problem("key", "can't have empty key in the list of attributes") }
                return Entry(key: k, value: e.raw("value").flatMap(ActionConfig.literal))
            }
        }
        m.attributes = entries("attributes")
        m.resources = entries("resources")
        for key in ["libraries", "log_severity_number", "metric_names", "regexp", "span_events"] where r.node[key] != nil {
            _ = r.raw(key)
            r.problem(key, "\(key) is not supported")
        }
        if m.services.isEmpty && m.spanNames.isEmpty && m.spanKinds.isEmpty && m.logBodies.isEmpty
            && m.logSeverityTexts.isEmpty && m.attributes.isEmpty && m.resources.isEmpty {
            r.problem("match_type", "at least one of services, span_names, span_kinds, log_bodies, log_severity_texts, attributes or resources must be given")
        }
        if m.matchType == .regexp {
            for (key, list) in [("services", m.services), ("span_names", m.spanNames), ("span_kinds", m.spanKinds),
                                ("log_bodies", m.logBodies), ("log_severity_texts", m.logSeverityTexts)] {
                for p in list { do { _ = try Pattern(p) } catch { r.problem(key, error.description) } }
            }
            for e in m.attributes + m.resources {
                guard let value = e.value else { continue }
                guard case .string(let p) = value else { r.problem("attributes", "\(e.key): a regexp value must be a string"); continue }
                do { _ = try Pattern(p) } catch { r.problem("attributes", error.description) }
            }
        }
        return m
    }
}

/// What an item offers to matching.
struct ItemFacts {
    var service: String?
    var spanName: String?
    var spanKind: String?
    var logBody: String?
    var severityText: String?
    var attributes: [(key: String, value: AttributeAction.Literal?)]
    var resource: [(key: String, value: AttributeAction.Literal?)]
}

/// `MatchProperties` compiled (patterns built once).
struct Matcher: Sendable {
    let properties: MatchProperties
    private let patterns: [String: Pattern]

    init(_ p: MatchProperties) {
        properties = p
        var patterns: [String: Pattern] = [:]
        if p.matchType == .regexp {
            var texts = p.services + p.spanNames + p.spanKinds + p.logBodies + p.logSeverityTexts
            for e in p.attributes + p.resources { if case .string(let s) = e.value { texts.append(s) } }
            for t in texts { patterns[t] = try? Pattern(t) }
        }
        self.patterns = patterns
    }

    private func text(_ wanted: String, _ actual: String?) -> Bool {
        guard let actual else { return false }
        if properties.matchType == .strict { return wanted == actual }
        return patterns[wanted]?.matches(actual) ?? false
    }

    private func any(_ list: [String], _ actual: String?) -> Bool {
        list.isEmpty || list.contains { text($0, actual) }
    }

    private func entries(_ wanted: [MatchProperties.Entry], _ actual: [(key: String, value: AttributeAction.Literal?)]) -> Bool {
        wanted.allSatisfy { e in
            guard let found = actual.first(where: { $0.key == e.key }) else { return false }
            guard let value = e.value else { return true }
            if properties.matchType == .strict { return found.value == value }
            guard case .string(let p) = value, case .string(let s)? = found.value else { return false }
            return text(p, s)
        }
    }

    func matches(_ f: ItemFacts) -> Bool {
        any(properties.services, f.service) && any(properties.spanNames, f.spanName) && any(properties.spanKinds, f.spanKind)
            && any(properties.logBodies, f.logBody) && any(properties.logSeverityTexts, f.severityText)
            && entries(properties.attributes, f.attributes) && entries(properties.resources, f.resource)
    }
}
