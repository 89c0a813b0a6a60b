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
        // libyaml's events are composed in one pass; aliases are refused, never expanded (a
        // "billion laughs" document costs what its text costs).
        let root: YAMLNode?
        do {
            root = try YAMLComposer.compose(text)
        } catch {
            throw ConfigError(file: "", problems: problems(from: error))
        }
        var problems: [ConfigProblem] = []
        guard let root else { return ConfigNode(.mapping([]), path: "", line: 1) }
        var unset: [ConfigProblem] = []
        let node = convert(root, path: "", environment: environment, problems: &problems, unset: &unset)
        if !problems.isEmpty { throw ConfigError(file: "", problems: problems) }
        warnings += unset
        return node
    }

    /// The 1-based lines of every alias (`*name`) in `text`; none when it has a syntax error
    /// before the first.
    static func aliasLines(_ text: String) -> [Int] {
        do {
            _ = try YAMLComposer.compose(text)
        } catch {
            if case .aliases(let lines) = error { return lines }
        }
        return []
    }

    private static func problems(from failure: YAMLComposer.Failure) -> [ConfigProblem] {
        switch failure {
        case .syntax(let problem, let line, let column):
            return [ConfigProblem(path: "", line: line, message: "invalid YAML: \(problem) (column \(column))")]
        case .aliases(let lines):
            return lines.prefix(20).map { ConfigProblem(path: "", line: $0, message: "YAML aliases are not supported") }
        case .tooDeep(let line):
            return [ConfigProblem(path: "", line: line,
                                  message: "invalid YAML: nested deeper than \(YAMLComposer.maxDepth) levels")]
        case .multipleDocuments(let line):
            return [ConfigProblem(path: "", line: line,
                                  message: "invalid YAML: expected a single document in the stream, found another")]
        }
    }

    private static func convert(_ node: YAMLNode, path: String, environment: [String: String],
                                problems: inout [ConfigProblem], unset: inout [ConfigProblem]) -> ConfigNode {
        switch node {
        case .scalar(let text, let plain, let tagged, let line):
            if plain, !tagged, ["", "~", "null", "Null", "NULL"].contains(text) {
                return ConfigNode(.null, path: path, line: line)
            }
            let expanded = expand(text, environment: environment, path: path, line: line, problems: &problems,
                                  unset: &unset)
            return ConfigNode(.scalar(expanded), path: path, line: line)
        case .mapping(let mapping, let line):
            var pairs: [(key: String, node: ConfigNode)] = []
            pairs.reserveCapacity(mapping.count)
            var seen: [String: Int] = [:]   // key -> line of its first occurrence: duplicates in linear time
            var duplicates: [(key: String, line: Int)] = []
            for (keyNode, valueNode) in mapping {
                let key = keyNode.string ?? ""
                if let first = seen[key] {
                    duplicates.append((key, first))
                    continue
                }
                seen[key] = keyNode.line
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                pairs.append((key, convert(valueNode, path: childPath, environment: environment, problems: &problems, unset: &unset)))
            }
            if let first = duplicates.first {
                // One problem per mapping, naming its repeated keys, at the first one's first line.
                var names: [String] = []
                for (key, _) in duplicates where !names.contains(key) { names.append(key) }
                problems.append(ConfigProblem(path: path, line: first.line,
                                              message: "duplicate key" + (names.count > 1 ? "s " : " ")
                                                  + names.prefix(20).map { "\"\($0)\"" }.joined(separator: ", ")))
            }
            return ConfigNode(.mapping(pairs), path: path, line: line)
        case .sequence(let sequence, let line):
            let items = sequence.enumerated().map { i, item in
                convert(item, path: "\(path)[\(i)]", environment: environment, problems: &problems, unset: &unset)
            }
            return ConfigNode(.sequence(items), path: path, line: line)
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
