import OTLPCodec

/// Parses the TraceQL subset of `TraceQLQuery`. A query outside it is refused with an error
/// naming the part that is not supported (`| count()`, `>>`, `event.`...), so a client gets a
/// 400 that says what to change rather than a wrong answer.
struct TraceQLParser {
    struct ParseError: Error, Equatable, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    private enum Token: Equatable {
        case lbrace, rbrace, lparen, rparen
        case and, or
        case op(TraceQLOperator)
        case string(String)
        case number(String)
        case word(String)
        /// Characters TraceQL has but this subset does not: `|`, `>>`, `~`, `!`, `+`...
        case unsupported(String)
        case end
    }

    private var tokens: [Token] = []
    private var position = 0

    static func parse(_ text: String) throws(ParseError) -> TraceQLQuery {
        var parser = TraceQLParser()
        parser.tokens = try tokenize(text)
        let expression = try parser.spansetExpression()
        guard parser.peek == .end else { throw parser.unexpected("after the query") }
        let required = requirements(expression)
        return TraceQLQuery(expression: expression, requiredService: required.service, requiredName: required.name,
                            requiredTags: required.tags, requiredNumeric: required.numeric,
                            minimumTraceDuration: minimumDuration(expression))
    }

    // MARK: Grammar

    private var peek: Token { tokens[position] }

    private mutating func next() -> Token {
        defer { position += 1 }
        return tokens[position]
    }

    private mutating func spansetExpression() throws(ParseError) -> TraceQLSpansetExpression {
        var left = try spansetAnd()
        while peek == .or {
            position += 1
            left = .or(left, try spansetAnd())
        }
        return left
    }

    private mutating func spansetAnd() throws(ParseError) -> TraceQLSpansetExpression {
        var left = try spansetTerm()
        while peek == .and {
            position += 1
            left = .and(left, try spansetTerm())
        }
        return left
    }

    private mutating func spansetTerm() throws(ParseError) -> TraceQLSpansetExpression {
        switch next() {
        case .lbrace:
            if peek == .rbrace {
                position += 1
                return .spanset(nil)
            }
            let condition = try conditionOr()
            guard next() == .rbrace else { position -= 1; throw unexpected("where '}' closes the spanset") }
            return .spanset(condition)
        case .lparen:
            let inner = try spansetExpression()
            guard next() == .rparen else { position -= 1; throw unexpected("where ')' closes the parenthesis") }
            return inner
        default:
            position -= 1
            throw unexpected("where a spanset '{ ... }' starts")
        }
    }

    private mutating func conditionOr() throws(ParseError) -> TraceQLCondition {
        var left = try conditionAnd()
        while peek == .or {
            position += 1
            left = .or(left, try conditionAnd())
        }
        return left
    }

    private mutating func conditionAnd() throws(ParseError) -> TraceQLCondition {
        var left = try conditionTerm()
        while peek == .and {
            position += 1
            left = .and(left, try conditionTerm())
        }
        return left
    }

    private mutating func conditionTerm() throws(ParseError) -> TraceQLCondition {
        if peek == .lparen {
            position += 1
            let inner = try conditionOr()
            guard next() == .rparen else { position -= 1; throw unexpected("where ')' closes the parenthesis") }
            return inner
        }
        guard case .word(let word) = next() else { position -= 1; throw unexpected("where an attribute or intrinsic is expected") }
        let field = try Self.field(word)
        guard case .op(let op) = next() else {
            position -= 1
            throw unexpected("after \(word), where an operator (= != > >= < <= =~ !~) is expected")
        }
        let literal = try self.literal(for: field)
        try Self.check(field, op, literal)
        return .compare(field, op, literal)
    }

    private mutating func literal(for field: TraceQLField) throws(ParseError) -> TraceQLLiteral {
        switch next() {
        case .string(let s): return .string(s)
        case .number(let text):
            if let ns = Self.duration(text) { return .duration(ns) }
            if let i = Int64(text) { return .int(i) }
            if let d = Double(text) { return .double(d) }
            throw ParseError(message: "invalid number \(text)")
        case .word("true"): return .bool(true)
        case .word("false"): return .bool(false)
        case .word(let w) where ["error", "ok", "unset"].contains(w): return .status(["unset": 0, "ok": 1, "error": 2][w]!)
        case .word(let w) where Self.kinds[w] != nil: return .kind(Self.kinds[w]!)
        case .word("nil"): throw ParseError(message: "nil is not supported")
        default:
            position -= 1
            throw unexpected("after the operator, where a value is expected")
        }
    }

    static let kinds = ["unspecified": 0, "internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5]

    static func field(_ word: String) throws(ParseError) -> TraceQLField {
        if word.hasPrefix(".") && word.count > 1 { return .attribute(.any, String(word.dropFirst())) }
        if word.hasPrefix("span.") && word.count > 5 { return .attribute(.span, String(word.dropFirst(5))) }
        if word.hasPrefix("resource.") && word.count > 9 { return .attribute(.resource, String(word.dropFirst(9))) }
        for scoped in ["span:", "trace:"] where word.hasPrefix(scoped) {
            if let i = TraceQLField.Intrinsic(rawValue: String(word.dropFirst(scoped.count))) { return .intrinsic(i) }
        }
        if let i = TraceQLField.Intrinsic(rawValue: word) { return .intrinsic(i) }
        for scope in ["event.", "link.", "instrumentation.", "event:", "link:", "instrumentation:"] where word.hasPrefix(scope) {
            throw ParseError(message: "the \(scope.dropLast()) scope (\(word)) is not supported")
        }
        throw ParseError(message: "\(word) is not an attribute (resource.x, span.x, .x) or a supported intrinsic (\(TraceQLField.Intrinsic.allCases.map(\.rawValue).joined(separator: ", ")))")
    }

    /// Operators and literals that make sense for the field.
    private static func check(_ field: TraceQLField, _ op: TraceQLOperator, _ literal: TraceQLLiteral) throws(ParseError) {
        let ordering: Set<TraceQLOperator> = [.greater, .greaterOrEqual, .less, .lessOrEqual]
        let regex: Set<TraceQLOperator> = [.matches, .notMatches]
        if regex.contains(op), case .string = literal {} else if regex.contains(op) {
            throw ParseError(message: "\(op.rawValue) needs a string (a regular expression)")
        }
        switch field {
        case .intrinsic(.status), .intrinsic(.kind):
            let ok: Bool
            if case .status = literal { ok = field == .intrinsic(.status) } else if case .kind = literal { ok = field == .intrinsic(.kind) } else { ok = false }
            guard ok, op == .equal || op == .notEqual else {
                throw ParseError(message: "\(field) compares with = or != to \(field == .intrinsic(.status) ? "error, ok or unset" : "server, client, producer, consumer, internal or unspecified")")
            }
        case .intrinsic(.duration), .intrinsic(.traceDuration):
            guard case .duration = literal else { throw ParseError(message: "\(field) compares with a duration such as 100ms or 1.5s") }
        default:
            if ordering.contains(op), case .bool = literal { throw ParseError(message: "\(op.rawValue) does not apply to true/false") }
        }
    }

    /// `250ms`, `1.5s`, `2m`, `1h`, `10us`, `5ns`.
    static func duration(_ text: String) -> UInt64? {
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        for (unit, scale) in units where text.hasSuffix(unit) {
            let number = text.dropLast(unit.count)
            guard !number.isEmpty, let value = Double(number), value >= 0, value * scale < 9e18 else { return nil }
            if unit == "s", number.last == "m" || number.last == "n" || number.last == "u" { continue }
            return UInt64(value * scale)
        }
        return nil
    }

    private func unexpected(_ place: String) -> ParseError {
        switch tokens[position] {
        case .end: return ParseError(message: "the query ends \(place)")
        case .unsupported(let text): return ParseError(message: "\(Self.unsupportedName(text)) is not supported")
        case let token: return ParseError(message: "unexpected \(Self.text(token)) \(place)")
        }
    }

    private static func unsupportedName(_ text: String) -> String {
        switch text {
        case "|": "the pipeline '|' (aggregates such as count(), select(), by())"
        case ">>", "<<", ">", "<", "~", "!>>", "!<<", "!>", "!<", "!~": "the structural operator '\(text)'"
        case "!": "negation '!'"
        case "+", "-", "*", "/", "%", "^": "arithmetic '\(text)'"
        default: "'\(text)'"
        }
    }

    private static func text(_ token: Token) -> String {
        switch token {
        case .lbrace: "'{'"
        case .rbrace: "'}'"
        case .lparen: "'('"
        case .rparen: "')'"
        case .and: "'&&'"
        case .or: "'||'"
        case .op(let o): "'\(o.rawValue)'"
        case .string(let s): "\"\(s)\""
        case .number(let n): n
        case .word(let w): w
        case .unsupported(let u): "'\(u)'"
        case .end: "the end"
        }
    }

    // MARK: Tokens

    private static func tokenize(_ text: String) throws(ParseError) -> [Token] {
        let chars = Array(text.unicodeScalars)
        var out: [Token] = []
        var i = 0
        func at(_ k: Int) -> Unicode.Scalar? { k < chars.count ? chars[k] : nil }
        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1; continue }
            switch c {
            case "{": out.append(.lbrace); i += 1
            case "}": out.append(.rbrace); i += 1
            case "(": out.append(.lparen); i += 1
            case ")": out.append(.rparen); i += 1
            case "&":
                guard at(i + 1) == "&" else { throw ParseError(message: "'&' must be '&&'") }
                out.append(.and); i += 2
            case "|":
                if at(i + 1) == "|" { out.append(.or); i += 2 } else { out.append(.unsupported("|")); i += 1 }
            case "=":
                if at(i + 1) == "~" { out.append(.op(.matches)); i += 2 } else { out.append(.op(.equal)); i += 1 }
            case "!":
                if at(i + 1) == "=" { out.append(.op(.notEqual)); i += 2 } else if at(i + 1) == "~" {
                    out.append(.op(.notMatches)); i += 2
                } else { out.append(.unsupported("!")); i += 1 }
            case ">":
                if at(i + 1) == "=" { out.append(.op(.greaterOrEqual)); i += 2 } else if at(i + 1) == ">" {
                    out.append(.unsupported(">>")); i += 2
                } else { out.append(.op(.greater)); i += 1 }
            case "<":
                if at(i + 1) == "=" { out.append(.op(.lessOrEqual)); i += 2 } else if at(i + 1) == "<" {
                    out.append(.unsupported("<<")); i += 2
                } else { out.append(.op(.less)); i += 1 }
            case "\"", "`":
                let quote = c
                var s = ""
                i += 1
                var closed = false
                while i < chars.count {
                    let d = chars[i]
                    if d == quote { closed = true; i += 1; break }
                    if d == "\\", quote == "\"", let e = at(i + 1) {
                        switch e {
                        case "n": s += "\n"
                        case "t": s += "\t"
                        default: s.unicodeScalars.append(e)
                        }
                        i += 2
                        continue
                    }
                    s.unicodeScalars.append(d)
                    i += 1
                }
                guard closed else { throw ParseError(message: "a string is not closed") }
                out.append(.string(s))
            default:
                if c.properties.numericType != nil || (c == "-" && at(i + 1).map { $0.properties.numericType != nil } == true) {
                    var n = String(c)
                    i += 1
                    while let d = at(i), d.properties.numericType != nil || d == "." || d == "e" || ("a"..."z").contains(d) || d == "µ" {
                        n.unicodeScalars.append(d)
                        i += 1
                    }
                    out.append(.number(n))
                } else if c.properties.isAlphabetic || c == "." || c == "_" {
                    var w = ""
                    while let d = at(i), d.properties.isAlphabetic || d.properties.numericType != nil || d == "." || d == "_" || d == ":" || d == "-" || d == "/" {
                        w.unicodeScalars.append(d)
                        i += 1
                    }
                    out.append(.word(w))
                } else {
                    out.append(.unsupported(String(c)))
                    i += 1
                }
            }
        }
        out.append(.end)
        return out
    }

    // MARK: Planning

    typealias Requirements = (service: String?, name: String?, tags: [String: String], numeric: [OTLPSpanQuery.NumericCondition])

    /// The store's comparison for a TraceQL operator, if it is an order.
    private static func numericComparison(_ op: TraceQLOperator) -> OTLPSpanQuery.NumericCondition.Comparison? {
        switch op {
        case .greater: .greater
        case .greaterOrEqual: .greaterOrEqual
        case .less: .less
        case .lessOrEqual: .lessOrEqual
        default: nil
        }
    }

    /// The longest `duration`/`traceDuration` lower bound (`>`, `>=`) that every match must
    /// satisfy: in an `&&` of conditions, of any spanset in an `&&` of spansets.
    private static func minimumDuration(_ e: TraceQLSpansetExpression) -> UInt64? {
        switch e {
        case .spanset(let c?): return minimumDuration(c)
        case .spanset(nil), .or: return nil
        case .and(let a, let b):
            return longer(minimumDuration(a), minimumDuration(b))
        }
    }

    /// The larger of two optional bounds (either alone when the other is nil).
    private static func longer(_ x: UInt64?, _ y: UInt64?) -> UInt64? {
        guard let x, let y else { return x ?? y }
        return max(x, y)
    }

    private static func minimumDuration(_ c: TraceQLCondition) -> UInt64? {
        switch c {
        case .compare(.intrinsic(.duration), .greater, .duration(let d)), .compare(.intrinsic(.duration), .greaterOrEqual, .duration(let d)),
             .compare(.intrinsic(.traceDuration), .greater, .duration(let d)),
             .compare(.intrinsic(.traceDuration), .greaterOrEqual, .duration(let d)):
            return d
        case .compare, .or:
            return nil
        case .and(let a, let b):
            return longer(minimumDuration(a), minimumDuration(b))
        }
    }

    /// What the store's index can narrow candidates by: the service, span name and tags that
    /// one same span of every match must have (the conditions of one spanset's `&&`, in an
    /// `&&` of spansets: `resource.service.name`, `name`, string and integer attribute
    /// equalities, `status = error` as the store's `error=true`, and numeric attribute
    /// comparisons `> >= < <=` with a number, which the store checks on the blocks it reads).
    /// Only `resource.service.name` is the store's service (the resource's); an unscoped
    /// `.service.name` may be the span's own attribute, so it is a tag (span or resource).
    private static func requirements(_ e: TraceQLSpansetExpression) -> Requirements {
        switch e {
        case .spanset(let c?): return requirements(c)
        case .spanset(nil), .or: return (nil, nil, [:], [])
        case .and(let a, let b):
            // Both must match, but not on one span: take one side's, never a mix; the side
            // that requires more (tags narrow most: `error=true` is rarer than a service).
            let (x, y) = (requirements(a), requirements(b))
            func weight(_ r: Requirements) -> Int {
                (r.service == nil ? 0 : 1) + (r.name == nil ? 0 : 1) + 2 * r.tags.count + 2 * r.numeric.count
            }
            return weight(y) > weight(x) ? y : x
        }
    }

    private static func requirements(_ c: TraceQLCondition) -> Requirements {
        switch c {
        case .compare(.attribute(.resource, "service.name"), .equal, .string(let s)):
            return (s, nil, [:], [])
        case .compare(.intrinsic(.name), .equal, .string(let s)):
            return (nil, s, [:], [])
        case .compare(.intrinsic(.status), .equal, .status(2)):
            return (nil, nil, ["error": "true"], [])
        case .compare(.attribute(_, let key), .equal, .string(let s)) where key != "error":
            return (nil, nil, [key: s], [])
        case .compare(.attribute(_, let key), .equal, .int(let i)) where key != "error":
            return (nil, nil, [key: String(i)], [])   // the store's tag also takes "404" as a string: a superset
        case .compare(.attribute(_, let key), let op, let literal):
            guard let comparison = numericComparison(op) else { return (nil, nil, [:], []) }
            switch literal {
            case .int(let i): return (nil, nil, [:], [.init(key: key, comparison, .int(i))])
            case .double(let d): return (nil, nil, [:], [.init(key: key, comparison, .double(d))])
            default: return (nil, nil, [:], [])
            }
        case .compare, .or:
            return (nil, nil, [:], [])
        case .and(let a, let b):
            let (x, y) = (requirements(a), requirements(b))
            return (x.service ?? y.service, x.name ?? y.name, x.tags.merging(y.tags) { first, _ in first }, x.numeric + y.numeric)
        }
    }
}
