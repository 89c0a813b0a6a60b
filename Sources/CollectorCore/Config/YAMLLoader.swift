import CYaml
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
        // Aliases are refused before anything is composed: Yams expands every alias while
        // composing, so a "billion laughs" document would take gigabytes before a check on
        // the composed tree could run. libyaml's event stream sees them in linear time.
        let aliases = aliasLines(text)
        if !aliases.isEmpty {
            throw ConfigError(file: "", problems: aliases.prefix(20).map {
                ConfigProblem(path: "", line: $0, message: "YAML aliases are not supported")
            })
        }
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

    /// The 1-based lines of every alias (`*name`) in `text`, from libyaml's events (nothing is
    /// built). A syntax error ends the scan; composing reports it.
    static func aliasLines(_ text: String) -> [Int] {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return [] }
        defer { yaml_parser_delete(&parser) }
        var bytes = Array(text.utf8)
        var lines: [Int] = []
        return bytes.withUnsafeMutableBufferPointer { buffer -> [Int] in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                let type = event.type
                if type == YAML_ALIAS_EVENT { lines.append(Int(event.start_mark.line) + 1) }
                yaml_event_delete(&event)
                if type == YAML_STREAM_END_EVENT { break }
            }
            return lines
        }
    }

    private static func problem(from error: YamlError) -> ConfigProblem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            return ConfigProblem(path: "", line: mark.line, message: "invalid YAML: \(problem) (column \(mark.column))")
        case .duplicatedKeysInMapping(let keys, let context):
            // Yams' own message quotes the whole document; the keys and the line say enough.
            return ConfigProblem(path: "", line: context.mark.line,
                                 message: "duplicate key" + (keys.count > 1 ? "s " : " ") + keys.map { "\"\($0)\"" }.joined(separator: ", "))
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
            var seen = Set<String>()   // duplicate keys found in linear time
            for (keyNode, valueNode) in mapping {
                let key = keyNode.string ?? ""
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                if !seen.insert(key).inserted {
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
