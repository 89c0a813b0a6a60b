import CYAML

/// A YAML document as the config loader needs it: scalars keep their text, style and line;
/// nothing is resolved to types here (`ConfigReader` reads scalars as the keys ask).
enum YAMLNode {
    case scalar(String, plain: Bool, tagged: Bool, line: Int)
    case mapping([(key: YAMLNode, value: YAMLNode)], line: Int)
    case sequence([YAMLNode], line: Int)

    var line: Int {
        switch self {
        case .scalar(_, _, _, let line), .mapping(_, let line), .sequence(_, let line): line
        }
    }

    /// A scalar's text (a mapping key); nil for a collection.
    var string: String? {
        if case .scalar(let text, _, _, _) = self { return text }
        return nil
    }
}

/// Builds `YAMLNode`s from libyaml's event stream (Debian's libyaml, YAML 1.1).
///
/// Design: one pass over the events with an explicit stack, so the work is linear in the
/// text and no input can recurse deeply. Aliases are never expanded: each is recorded with its
/// line and refused by the loader, so a "billion laughs" document costs what its text costs.
/// Nesting deeper than `maxDepth` is refused (the loader's conversion recurses per level).
/// Marks are libyaml's, 0-based, reported 1-based.
enum YAMLComposer {
    static let maxDepth = 512

    enum Failure: Error {
        /// libyaml refused the text: its problem, at a 1-based line and column.
        case syntax(problem: String, line: Int, column: Int)
        /// Aliases (`*name`), by line, in order.
        case aliases([Int])
        case tooDeep(line: Int)
        case multipleDocuments(line: Int)
    }

    /// The document's root, or nil for a stream without a document (empty, or only comments).
    static func compose(_ text: String) throws(Failure) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw .syntax(problem: "cannot initialize the YAML parser", line: 0, column: 0)
        }
        defer { yaml_parser_delete(&parser) }
        var bytes = Array(text.utf8)
        return try bytes.withUnsafeMutableBufferPointer { buffer throws(Failure) -> YAMLNode? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            return try run(&parser)
        }
    }

    /// A collection being built: its items so far (a mapping's alternate key, value).
    private struct Open {
        var isMapping: Bool
        var items: [YAMLNode] = []
        var line: Int
    }

    private static func run(_ parser: inout yaml_parser_t) throws(Failure) -> YAMLNode? {
        var stack: [Open] = []
        var root: YAMLNode?
        var documents = 0
        var aliases: [Int] = []
        var event = yaml_event_t()

        func add(_ node: YAMLNode) {
            if stack.isEmpty { root = node } else { stack[stack.count - 1].items.append(node) }
        }

        while true {
            guard yaml_parser_parse(&parser, &event) == 1 else {
                // A document that uses aliases is refused for them, even if broken later.
                if !aliases.isEmpty { throw .aliases(aliases) }
                let problem = parser.problem.map { String(cString: $0) } ?? "unknown error"
                throw .syntax(problem: problem, line: Int(parser.problem_mark.line) + 1,
                              column: Int(parser.problem_mark.column) + 1)
            }
            defer { yaml_event_delete(&event) }
            let line = Int(event.start_mark.line) + 1
            switch event.type {
            case YAML_STREAM_END_EVENT:
                if !aliases.isEmpty { throw .aliases(aliases) }
                return root
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 { throw .multipleDocuments(line: line) }
            case YAML_ALIAS_EVENT:
                aliases.append(line)
                add(.scalar("", plain: true, tagged: false, line: line))
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let text = scalar.value.map {
                    String(decoding: UnsafeBufferPointer(start: $0, count: scalar.length), as: UTF8.self)
                } ?? ""
                add(.scalar(text, plain: scalar.style == YAML_PLAIN_SCALAR_STYLE, tagged: scalar.tag != nil, line: line))
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                if stack.count >= maxDepth { throw .tooDeep(line: line) }
                stack.append(Open(isMapping: event.type == YAML_MAPPING_START_EVENT, line: line))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                let open = stack.removeLast()
                if open.isMapping {
                    var pairs: [(key: YAMLNode, value: YAMLNode)] = []
                    pairs.reserveCapacity(open.items.count / 2)
                    var i = 0
                    while i + 1 < open.items.count {
                        pairs.append((open.items[i], open.items[i + 1]))
                        i += 2
                    }
                    add(.mapping(pairs, line: open.line))
                } else {
                    add(.sequence(open.items, line: open.line))
                }
            default:
                break   // stream and document boundaries
            }
        }
    }
}
