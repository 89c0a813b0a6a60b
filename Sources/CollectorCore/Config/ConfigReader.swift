/// Collects config problems while a config is read.
public final class ProblemSink {
    public private(set) var problems: [ConfigProblem] = []
    public init() {}
    public func add(_ node: ConfigNode, _ message: String) {
        problems.append(ConfigProblem(path: node.path, line: node.line, message: message))
    }
    public func add(path: String, line: Int, _ message: String) {
        problems.append(ConfigProblem(path: path, line: line, message: message))
    }
}

/// Reads one mapping of a component's settings: typed getters with defaults that record a
/// problem (with YAML path and line) instead of throwing, so all problems are reported at once.
/// `finish()` reports every key that no getter asked for as unknown.
public final class ConfigReader {
    public let node: ConfigNode
    public let sink: ProblemSink
    private var used: Set<String> = []
    private var children: [ConfigReader] = []

    public init(_ node: ConfigNode, sink: ProblemSink) {
        self.node = node
        self.sink = sink
        if node.mapping == nil {
            sink.add(node, "expected a mapping, found \(node.kindName)")
        }
    }

    /// The raw node for `key`, marking the key as known.
    public func raw(_ key: String) -> ConfigNode? {
        used.insert(key)
        guard let child = node[key], !child.isNull else { return nil }
        return child
    }

    public func string(_ key: String, default value: String) -> String {
        guard let child = raw(key) else { return value }
        guard let s = child.scalar else {
            sink.add(child, "expected a string, found \(child.kindName)")
            return value
        }
        return s
    }

    public func int(_ key: String, default value: Int, range: ClosedRange<Int>? = nil) -> Int {
        guard let child = raw(key) else { return value }
        guard let s = child.scalar, let n = Int(s.replacingUnderscores) else {
            sink.add(child, "expected an integer, found \(child.scalar.map { "\"\($0)\"" } ?? child.kindName)")
            return value
        }
        if let range, !range.contains(n) {
            sink.add(child, "\(n) is out of range \(range.lowerBound)...\(range.upperBound)")
            return value
        }
        return n
    }

    public func double(_ key: String, default value: Double) -> Double {
        guard let child = raw(key) else { return value }
        guard let s = child.scalar, let d = Double(s) else {
            sink.add(child, "expected a number, found \(child.scalar.map { "\"\($0)\"" } ?? child.kindName)")
            return value
        }
        return d
    }

    public func bool(_ key: String, default value: Bool) -> Bool {
        guard let child = raw(key) else { return value }
        switch child.scalar?.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            sink.add(child, "expected true or false, found \(child.scalar.map { "\"\($0)\"" } ?? child.kindName)")
            return value
        }
    }

    /// A Go-style duration ("200ms", "1s", "1m30s", "2h"), returned in nanoseconds.
    public func duration(_ key: String, default value: UInt64) -> UInt64 {
        guard let child = raw(key) else { return value }
        guard let s = child.scalar, let ns = DurationParser.nanoseconds(s) else {
            sink.add(child, "expected a duration such as 200ms, 5s or 1m, found \(child.scalar.map { "\"\($0)\"" } ?? child.kindName)")
            return value
        }
        return ns
    }

    /// One of `allowed` (case-sensitive).
    public func choice(_ key: String, _ allowed: [String], default value: String) -> String {
        let s = string(key, default: value)
        guard allowed.contains(s) else {
            if let child = node[key] { sink.add(child, "\"\(s)\" is not one of \(allowed.joined(separator: ", "))") }
            return value
        }
        return s
    }

    public func stringList(_ key: String) -> [String] {
        guard let child = raw(key) else { return [] }
        guard case .sequence(let items) = child.value else {
            sink.add(child, "expected a list, found \(child.kindName)")
            return []
        }
        return items.compactMap { item in
            guard let s = item.scalar else {
                sink.add(item, "expected a string, found \(item.kindName)")
                return nil
            }
            return s
        }
    }

    /// A nested mapping: nil when the key is absent, an empty reader when present but empty.
    public func section(_ key: String) -> ConfigReader? {
        used.insert(key)
        guard let child = node[key] else { return nil }
        let reader = ConfigReader(child.isNull ? ConfigNode(.mapping([]), path: child.path, line: child.line) : child, sink: sink)
        children.append(reader)
        return reader
    }

    /// A list of mappings (e.g. the filelog receiver's `operators`): one reader per item, each
    /// checked for unknown keys by `finish()`.
    public func sectionList(_ key: String) -> [ConfigReader] {
        guard let child = raw(key) else { return [] }
        guard case .sequence(let items) = child.value else {
            sink.add(child, "expected a list, found \(child.kindName)")
            return []
        }
        let readers = items.map { ConfigReader($0, sink: sink) }
        children += readers
        return readers
    }

    public func problem(_ key: String, _ message: String) {
        if let child = node[key] {
            sink.add(child, message)
        } else {
            sink.add(path: node.path.isEmpty ? key : "\(node.path).\(key)", line: node.line, message)
        }
    }

    /// Reports keys nobody read, here and in every section taken from this reader.
    public func finish() {
        for (key, child) in node.mapping ?? [] where !used.contains(key) {
            sink.add(path: child.path, line: child.line, "unknown key \"\(key)\"")
        }
        for child in children { child.finish() }
        children.removeAll()
    }
}

extension String {
    var replacingUnderscores: String { String(filter { $0 != "_" }) }
}

/// Parses Go-style durations.
public enum DurationParser {
    public static func nanoseconds(_ text: String) -> UInt64? {
        let s = text.trimmingWhitespace
        if s == "0" { return 0 }
        var total: Double = 0
        var rest = Substring(s)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix(while: { $0.isNumber || $0 == "." })
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix(while: { $0.isLetter || $0 == "µ" })
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m": scale = 60e9
            case "h": scale = 3600e9
            default: return nil
            }
            total += value * scale
        }
        guard total < 1e19 else { return nil }
        return UInt64(total)
    }
}
