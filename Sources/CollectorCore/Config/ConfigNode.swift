/// A YAML value with where it came from, so every config error can name its path and line.
public struct ConfigNode: Sendable {
    public enum Value: Sendable {
        case null
        case scalar(String)
        case mapping([(key: String, node: ConfigNode)])
        case sequence([ConfigNode])
    }

    public var value: Value
    /// Dotted path from the document root, e.g. `receivers.otlp.protocols.grpc.endpoint`.
    public var path: String
    /// 1-based line in the file (0 when unknown).
    public var line: Int

    public init(_ value: Value, path: String, line: Int) {
        self.value = value
        self.path = path
        self.line = line
    }

    public var scalar: String? {
        if case .scalar(let s) = value { return s }
        return nil
    }

    public var isNull: Bool {
        if case .null = value { return true }
        return false
    }

    public var mapping: [(key: String, node: ConfigNode)]? {
        switch value {
        case .mapping(let pairs): pairs
        case .null: []
        default: nil
        }
    }

    public subscript(key: String) -> ConfigNode? {
        mapping?.first(where: { $0.key == key })?.node
    }

    public var kindName: String {
        switch value {
        case .null: "null"
        case .scalar: "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }
}

/// One thing wrong with a config file.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var message: String

    public init(path: String, line: Int, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String {
        let location = line > 0 ? " (line \(line))" : ""
        return path.isEmpty ? "\(message)\(location)" : "\(path)\(location): \(message)"
    }
}

/// Every problem found in a config file, reported together.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var problems: [ConfigProblem]

    public init(file: String, problems: [ConfigProblem]) {
        self.file = file
        self.problems = problems
    }

    public var description: String {
        let noun = problems.count == 1 ? "error" : "errors"
        return "invalid configuration \(file) (\(problems.count) \(noun)):\n"
            + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}
