import OTLPCodec
import Patterns

/// A stored trace as TraceQL sees it: its spans with their attributes and intrinsics, decoded
/// once from the store's OTLP bytes.
struct TraceQLTrace {
    typealias Value = OTLPMetricPoints.Value

    struct Span {
        var spanID: [UInt8]
        var parentSpanID: [UInt8]
        var name: String
        var kind: Int
        var status: Int
        var statusMessage: String
        var start: UInt64
        var end: UInt64
        var attributes: [(key: String, value: Value)]
        var resource: Int
    }

    var spans: [Span] = []
    var resources: [[(key: String, value: Value)]] = []
    var rootName = ""
    var rootService = ""
    var start: UInt64 = 0
    var end: UInt64 = 0

    /// Decodes the trace's spans; of the attributes, only those named in `attributes` (all
    /// when nil) and `service.name` become values (strings cost most of the decoding).
    init(spans bytes: [UInt8], attributes wanted: [String]? = nil) {
        let keys = wanted.map { ($0 + ["service.name"]).map { Array($0.utf8) } }
        func keep(_ raw: UnsafeRawBufferPointer, _ kv: Range<Int>) -> Bool {
            guard let keys else { return true }
            let key = OTLPAttributes.key(raw, kv)
            return keys.contains { OTLPAttributes.equal(raw, key, $0) }
        }
        bytes.withUnsafeBytes { raw in
            guard let layout = try? OTLPRequestLayout(.traces, raw) else { return }
            resources = layout.resources.map { r in
                OTLPAttributes.list(raw, r.resourceMessage, field: 1).filter { keep(raw, $0) }.map { OTLPAttributes.decoded(raw, $0) }
            }
            for item in layout.items {
                guard let f = try? OTLPSpanFields(raw, item.payload) else { continue }
                spans.append(Span(spanID: Self.bytes(raw, f.spanID), parentSpanID: Self.bytes(raw, f.parentSpanID),
                                  name: OTLPAttributes.string(raw, f.name), kind: f.kind, status: f.statusCode,
                                  statusMessage: Self.statusMessage(raw, item.payload),
                                  start: f.startTimeUnixNano, end: f.endTimeUnixNano,
                                  attributes: f.attributes.filter { keep(raw, $0) }.map { OTLPAttributes.decoded(raw, $0) },
                                  resource: layout.scopes[item.scope].resource))
            }
        }
        guard !spans.isEmpty else { return }
        start = spans.map(\.start).min()!
        end = spans.map(\.end).max()!
        let ids = Set(spans.map(\.spanID))
        let roots = spans.filter { $0.parentSpanID.isEmpty || !ids.contains($0.parentSpanID) }
        if let root = roots.min(by: { ($0.parentSpanID.isEmpty ? 0 : 1, $0.start) < ($1.parentSpanID.isEmpty ? 0 : 1, $1.start) }) {
            rootName = root.name
            rootService = service(of: root)
        }
    }

    func service(of span: Span) -> String {
        if case .string(let s)? = resources[span.resource].first(where: { $0.key == "service.name" })?.value { return s }
        return OTLPScanner.unknownService
    }

    private static func bytes(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) -> [UInt8] {
        Array(UnsafeRawBufferPointer(rebasing: raw[range]))
    }

    /// `status.message` (Span field 15, Status field 2).
    private static func statusMessage(_ raw: UnsafeRawBufferPointer, _ span: Range<Int>) -> String {
        var message = ""
        try? OTLPMessageFields.each(raw, span) { number, _, payload, lengthDelimited in
            guard number == 15, lengthDelimited else { return }
            try OTLPMessageFields.each(raw, payload) { n, _, p, ld in
                if n == 2, ld { message = OTLPAttributes.string(raw, p) }
            }
        }
        return message
    }
}

/// Runs a `TraceQLQuery` on traces: which spans match, grouped in the spansets the query's
/// spanset expressions make (a trace matches when there is at least one).
struct TraceQLEvaluator {
    let query: TraceQLQuery
    private let patterns: [String: Pattern]

    init(_ query: TraceQLQuery) throws(TraceQLParser.ParseError) {
        self.query = query
        var patterns: [String: Pattern] = [:]
        for pattern in Self.regexes(query.expression) where patterns[pattern] == nil {
            do {
                patterns[pattern] = try Pattern(pattern)
            } catch {
                throw TraceQLParser.ParseError(message: error.description)
            }
        }
        self.patterns = patterns
    }

    /// The matching spansets (span indexes), empty when the trace does not match.
    func spansets(_ trace: TraceQLTrace) -> [[Int]] {
        evaluate(query.expression, trace)
    }

    private func evaluate(_ e: TraceQLSpansetExpression, _ trace: TraceQLTrace) -> [[Int]] {
        switch e {
        case .spanset(let condition):
            let matched = trace.spans.indices.filter { i in condition.map { holds($0, trace.spans[i], trace) } ?? true }
            return matched.isEmpty ? [] : [matched]
        case .and(let a, let b):
            let left = evaluate(a, trace)
            guard !left.isEmpty else { return [] }
            let right = evaluate(b, trace)
            return right.isEmpty ? [] : left + right
        case .or(let a, let b):
            return evaluate(a, trace) + evaluate(b, trace)
        }
    }

    private func holds(_ c: TraceQLCondition, _ span: TraceQLTrace.Span, _ trace: TraceQLTrace) -> Bool {
        switch c {
        case .and(let a, let b): holds(a, span, trace) && holds(b, span, trace)
        case .or(let a, let b): holds(a, span, trace) || holds(b, span, trace)
        case .compare(let field, let op, let literal): compare(field, op, literal, span, trace)
        }
    }

    private func compare(_ field: TraceQLField, _ op: TraceQLOperator, _ literal: TraceQLLiteral,
                         _ span: TraceQLTrace.Span, _ trace: TraceQLTrace) -> Bool {
        switch field {
        case .intrinsic(.status):
            guard case .status(let s) = literal else { return false }
            return op == .equal ? span.status == s : span.status != s
        case .intrinsic(.kind):
            guard case .kind(let k) = literal else { return false }
            return op == .equal ? span.kind == k : span.kind != k
        case .intrinsic(.duration):
            guard case .duration(let d) = literal else { return false }
            return Self.order(span.end > span.start ? span.end - span.start : 0, d, op)
        case .intrinsic(.traceDuration):
            guard case .duration(let d) = literal else { return false }
            return Self.order(trace.end > trace.start ? trace.end - trace.start : 0, d, op)
        case .intrinsic(.name): return string(span.name, op, literal)
        case .intrinsic(.statusMessage): return string(span.statusMessage, op, literal)
        case .intrinsic(.rootName): return string(trace.rootName, op, literal)
        case .intrinsic(.rootServiceName): return string(trace.rootService, op, literal)
        case .attribute(let scope, let name):
            var value: TraceQLTrace.Value?
            if scope != .resource { value = span.attributes.first { $0.key == name }?.value }
            if value == nil && scope != .span { value = trace.resources[span.resource].first { $0.key == name }?.value }
            guard let value else { return false }
            switch (value, literal) {
            case (.string(let s), _): return string(s, op, literal)
            case (.int(let i), .int(let j)): return Self.order(i, j, op)
            case (.int(let i), .double(let d)): return Self.order(Double(i), d, op)
            case (.double(let x), .double(let d)): return Self.order(x, d, op)
            case (.double(let x), .int(let j)): return Self.order(x, Double(j), op)
            case (.bool(let b), .bool(let c)): return op == .equal ? b == c : (op == .notEqual ? b != c : false)
            default: return false
            }
        }
    }

    private func string(_ value: String, _ op: TraceQLOperator, _ literal: TraceQLLiteral) -> Bool {
        guard case .string(let s) = literal else { return false }
        switch op {
        case .matches: return patterns[s]?.matches(value, anchor: .whole) ?? false
        case .notMatches: return !(patterns[s]?.matches(value, anchor: .whole) ?? true)
        default: return Self.order(value, s, op)
        }
    }

    private static func order<T: Comparable>(_ a: T, _ b: T, _ op: TraceQLOperator) -> Bool {
        switch op {
        case .equal: a == b
        case .notEqual: a != b
        case .greater: a > b
        case .greaterOrEqual: a >= b
        case .less: a < b
        case .lessOrEqual: a <= b
        case .matches, .notMatches: false
        }
    }

    private static func regexes(_ e: TraceQLSpansetExpression) -> [String] {
        switch e {
        case .spanset(let c): c.map(regexes) ?? []
        case .and(let a, let b), .or(let a, let b): regexes(a) + regexes(b)
        }
    }

    private static func regexes(_ c: TraceQLCondition) -> [String] {
        switch c {
        case .compare(_, .matches, .string(let s)), .compare(_, .notMatches, .string(let s)): [s]
        case .compare: []
        case .and(let a, let b), .or(let a, let b): regexes(a) + regexes(b)
        }
    }

    /// The attribute names the query reads, for the spans it returns.
    var attributeNames: [String] {
        func names(_ c: TraceQLCondition) -> [String] {
            switch c {
            case .compare(.attribute(_, let n), _, _): [n]
            case .compare: []
            case .and(let a, let b), .or(let a, let b): names(a) + names(b)
            }
        }
        func all(_ e: TraceQLSpansetExpression) -> [String] {
            switch e {
            case .spanset(let c): c.map(names) ?? []
            case .and(let a, let b), .or(let a, let b): all(a) + all(b)
            }
        }
        var seen = Set<String>()
        return all(query.expression).filter { seen.insert($0).inserted }
    }
}
