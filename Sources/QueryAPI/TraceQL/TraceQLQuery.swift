import OTLPCodec

/// The TraceQL subset the query API answers, as a syntax tree (`TraceQLParser` builds it,
/// `TraceQLEvaluator` runs it):
///
///     { resource.service.name = "checkout" && span.http.status_code >= 500 } || { duration > 2s }
///
/// - spansets `{ ... }` (empty: every span), combined with `&&` and `||` (and parentheses):
///   `A && B` matches a trace where both match, `A || B` where either does;
/// - inside a spanset, conditions combined with `&&`, `||` and parentheses;
/// - a condition compares an attribute (`resource.x`, `span.x`, `.x`: the span's, else its
///   resource's) or an intrinsic (`name`, `status`, `kind`, `duration`, `statusMessage`,
///   `rootName`, `rootServiceName`, `traceDuration`) with a literal: a string, an integer, a
///   float, a duration (`250ms`, `1.5s`), `true`/`false`, a status (`error`, `ok`, `unset`) or a
///   kind (`server`, `client`, `producer`, `consumer`, `internal`, `unspecified`), with `=`,
///   `!=`, `>`, `>=`, `<`, `<=`, `=~`, `!~` (RE2, matching the whole value, as Tempo's).
indirect enum TraceQLSpansetExpression: Equatable, Sendable {
    case spanset(TraceQLCondition?)
    case and(TraceQLSpansetExpression, TraceQLSpansetExpression)
    case or(TraceQLSpansetExpression, TraceQLSpansetExpression)
}

indirect enum TraceQLCondition: Equatable, Sendable {
    case compare(TraceQLField, TraceQLOperator, TraceQLLiteral)
    case and(TraceQLCondition, TraceQLCondition)
    case or(TraceQLCondition, TraceQLCondition)
}

enum TraceQLField: Equatable, Sendable, CustomStringConvertible {
    enum Scope: String, Sendable { case span, resource, any }
    enum Intrinsic: String, Sendable, CaseIterable {
        case name, status, kind, duration, statusMessage, rootName, rootServiceName, traceDuration
    }

    case attribute(Scope, String)
    case intrinsic(Intrinsic)

    var description: String {
        switch self {
        case .attribute(.any, let name): ".\(name)"
        case .attribute(let scope, let name): "\(scope.rawValue).\(name)"
        case .intrinsic(let i): i.rawValue
        }
    }
}

enum TraceQLOperator: String, Sendable, CaseIterable {
    case equal = "=", notEqual = "!=", greater = ">", greaterOrEqual = ">=", less = "<", lessOrEqual = "<="
    case matches = "=~", notMatches = "!~"
}

enum TraceQLLiteral: Equatable, Sendable {
    case string(String)
    case int(Int64)
    case double(Double)
    /// Nanoseconds.
    case duration(UInt64)
    case bool(Bool)
    /// 0 unset, 1 ok, 2 error (OTLP's numbers).
    case status(Int)
    /// OTLP's `SpanKind` numbers.
    case kind(Int)
}

/// A whole search: the spanset expression and the conditions the store can narrow candidates
/// with (equalities on `resource.service.name`, `name`, string and integer attributes and
/// `status = error`, numeric attribute comparisons, that one span of every matching trace must
/// have).
struct TraceQLQuery: Equatable, Sendable {
    var expression: TraceQLSpansetExpression
    var requiredService: String?
    var requiredName: String?
    /// String attribute equalities and `error=true` (for `status = error`) that the same span
    /// must have: the store's tag search narrows candidates with them.
    var requiredTags: [String: String] = [:]
    /// Numeric attribute comparisons that same span must satisfy.
    var requiredNumeric: [OTLPSpanQuery.NumericCondition] = []
    /// A lower bound on the trace's duration (ns) every match has: a span or the trace lasting
    /// more than it (a trace lasts at least as long as each of its spans).
    var minimumTraceDuration: UInt64?
}
