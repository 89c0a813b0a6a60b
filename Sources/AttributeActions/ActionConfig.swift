import CollectorCore
import Patterns

/// Reads an `actions` / `attributes` list with the OTel Collector's keys (`key`, `action`,
/// `value`, `from_attribute`, `from_context`, `pattern`, `converted_type`) and its validation
/// (`attraction.NewAttrProc`), problems recorded at their entries.
public enum ActionConfig {
    public static func actions(_ entries: [ConfigReader]) -> [AttributeAction] {
        var out: [AttributeAction] = []
        for (i, r) in entries.enumerated() {
            let key = r.string("key", default: "")
            let actionName = r.string("action", default: "")
            let literal = r.raw("value").flatMap(Self.literal)
            let from = r.string("from_attribute", default: "")
            let patternText = r.string("pattern", default: "")
            let converted = r.string("converted_type", default: "")
            if r.raw("from_context") != nil {
                r.problem("from_context", "from_context is not supported (no request metadata is kept yet)")
            }
            guard !actionName.isEmpty else {
                r.problem("action", "missing required field \"action\" at the \(i)-th action")
                continue
            }
            guard let kind = AttributeAction.Kind(rawValue: actionName.lowercased()) else {
                r.problem("action", "unsupported action \"\(actionName)\" at the \(i)-th action (one of insert, update, upsert, delete, hash, extract, convert)")
                continue
            }
            var pattern: Pattern?
            if !patternText.isEmpty {
                do { pattern = try Pattern(patternText) } catch {
                    r.problem("pattern", "\(error.description) at the \(i)-th action")
                    continue
                }
            }
            var action = AttributeAction(kind: kind, key: key, value: literal, fromAttribute: from.isEmpty ? nil : from, pattern: pattern)
            switch kind {
            case .insert, .update, .upsert:
                if key.isEmpty { r.problem("key", "missing required field \"key\" at the \(i)-th action") }
                let sources = (literal != nil ? 1 : 0) + (from.isEmpty ? 0 : 1)
                if sources == 0 {
                    r.problem("value", "missing value field or from_attribute field for action \"\(actionName)\" at the \(i)-th action")
                } else if sources > 1 {
                    r.problem("value", "more than one of value and from_attribute for action \"\(actionName)\" at the \(i)-th action")
                }
                if pattern != nil { r.problem("pattern", "action \"\(actionName)\" does not use field \"pattern\" at the \(i)-th action") }
            case .delete, .hash:
                if key.isEmpty == (pattern == nil) {
                    r.problem("key", "exactly one of \"key\" and \"pattern\" is required for action \"\(actionName)\" at the \(i)-th action")
                }
            case .extract:
                if key.isEmpty { r.problem("key", "missing required field \"key\" at the \(i)-th action") }
                if let pattern {
                    if !pattern.groupNames.contains(where: { $0 != nil }) {
                        r.problem("pattern", "pattern \"\(patternText)\" contains no named matcher groups at the \(i)-th action")
                    }
                } else {
                    r.problem("pattern", "missing required field \"pattern\" for action \"extract\" at the \(i)-th action")
                }
            case .convert:
                if key.isEmpty { r.problem("key", "missing required field \"key\" at the \(i)-th action") }
                guard let type = AttributeAction.ConvertedType(rawValue: converted) else {
                    r.problem("converted_type", "unsupported converted_type \"\(converted)\" at the \(i)-th action (int, double or string)")
                    continue
                }
                action.convertedType = type
            }
            out.append(action)
        }
        return out
    }

    /// A YAML scalar as the value it means: true/false, an integer, a number, else a string.
    /// (Quoting is not kept by the config loader, so "123" is the integer 123 here.)
    public static func literal(_ node: ConfigNode) -> AttributeAction.Literal? {
        guard let s = node.scalar else { return nil }
        if s == "true" { return .bool(true) }
        if s == "false" { return .bool(false) }
        if let i = Int64(s) { return .int(i) }
        if let d = Double(s), s.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) { return .double(d) }
        return .string(s)
    }
}
