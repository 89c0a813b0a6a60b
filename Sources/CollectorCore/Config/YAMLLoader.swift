import Yams

/// Turns YAML text into `ConfigNode`s, expanding `${env:NAME}` (and `${NAME}`) in scalars as
/// the OpenTelemetry Collector does; `$$` stands for a literal `$`.
public enum YAMLLoader {
    public static func load(_ text: String, environment: [String: String]) throws(ConfigError) -> ConfigNode {
        var warnings: [ConfigProblem] = []
        return try load(text, environment: environment, warnings: &warnings)
    }

    /// The same, with what deserves a warning (a reference to an unset variable) in `warnings`.
    public static func load(_ text: String, environment: [String: String],
                            warnings: inout [ConfigProblem]) throws(ConfigError) -> ConfigNode {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigError(file: "", problems: [problem(from: error)])
        } catch {
            throw ConfigError(file: "", problems: [ConfigProblem(path: "", line: 0, message: "invalid YAML: \(error)")])
        }
        var problems: [ConfigProblem] = []
        guard let root else { return ConfigNode(.mapping([]), path: "", line: 1) }
        var unset: [ConfigProblem] = []
        let node = convert(root, path: "", environment: environment, problems: &problems, unset: &unset)
        if !problems.isEmpty { throw ConfigError(file: "", problems: problems) }
        warnings += unset
        return node
    }

    private static func problem(from error: YamlError) -> ConfigProblem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            return ConfigProblem(path: "", line: mark.line, message: "invalid YAML: \(problem) (column \(mark.column))")
        default:
            return ConfigProblem(path: "", line: 0, message: "invalid YAML: \(error)")
        }
    }

    private static func convert(_ node: Node, path: String, environment: [String: String],
                                problems: inout [ConfigProblem], unset: inout [ConfigProblem]) -> ConfigNode {
        let line = node.mark?.line ?? 0
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
                return ConfigNode(.null, path: path, line: line)
            }
            let expanded = expand(scalar.string, environment: environment, path: path, line: line, problems: &problems,
                                  unset: &unset)
            return ConfigNode(.scalar(expanded), path: path, line: line)
        case .mapping(let mapping):
            var pairs: [(key: String, node: ConfigNode)] = []
            for (keyNode, valueNode) in mapping {
                let key = keyNode.string ?? ""
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                if pairs.contains(where: { $0.key == key }) {
                    problems.append(ConfigProblem(path: childPath, line: keyNode.mark?.line ?? line, message: "duplicate key"))
                    continue
                }
                pairs.append((key, convert(valueNode, path: childPath, environment: environment, problems: &problems, unset: &unset)))
            }
            return ConfigNode(.mapping(pairs), path: path, line: line)
        case .sequence(let sequence):
            let items = sequence.enumerated().map { i, item in
                convert(item, path: "\(path)[\(i)]", environment: environment, problems: &problems, unset: &unset)
            }
            return ConfigNode(.sequence(items), path: path, line: line)
        case .alias:
            problems.append(ConfigProblem(path: path, line: line, message: "YAML aliases are not supported"))
            return ConfigNode(.null, path: path, line: line)
        }
    }

    /// Expands `${env:NAME}`, `${NAME}` and `$$`. An unset variable expands to "" (like the
    /// OTel Collector) and is reported in `unset` (upstream warns too); a malformed reference
    /// is an error.
    static func expand(_ s: String, environment: [String: String], path: String, line: Int,
                       problems: inout [ConfigProblem], unset: inout [ConfigProblem]) -> String {
        guard s.contains("$") else { return s }
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            let next = s.index(after: i)
            if c == "$", next < s.endIndex, s[next] == "$" {
                out.append("$")
                i = s.index(after: next)
            } else if c == "$", next < s.endIndex, s[next] == "{" {
                guard let close = s[next...].firstIndex(of: "}") else {
                    problems.append(ConfigProblem(path: path, line: line, message: "unterminated ${...} in \"\(s)\""))
                    return s
                }
                var name = String(s[s.index(after: next)..<close])
                if name.hasPrefix("env:") { name.removeFirst(4) }
                let valid = !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
                if !valid {
                    problems.append(ConfigProblem(path: path, line: line, message: "invalid environment reference \"${\(name)}\""))
                    return s
                }
                if let value = environment[name] {
                    out += value
                } else {
                    unset.append(ConfigProblem(path: path, line: line,
                                               message: "${env:\(name)} is not set; it expands to an empty value"))
                }
                i = s.index(after: close)
            } else {
                out.append(c)
                i = next
            }
        }
        return out
    }
}
