import Patterns

/// One entry of the OpenTelemetry Collector's `actions` list (the `attributes` and `resource`
/// processors' shared `attraction` package): what to do to which key.
public struct AttributeAction: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case insert, update, upsert, delete, hash, extract, convert
    }

    /// A literal `value` from the config.
    public enum Literal: Sendable, Equatable {
        case string(String), int(Int64), double(Double), bool(Bool)
    }

    public enum ConvertedType: String, Sendable {
        case int, double, string
    }

    public var kind: Kind
    /// The attribute acted on; empty when `pattern` selects keys (delete, hash).
    public var key: String
    public var value: Literal?
    public var fromAttribute: String?
    /// delete / hash: keys matching it; extract: the regex with named groups run on the value.
    public var pattern: Pattern?
    public var convertedType: ConvertedType?

    public init(kind: Kind, key: String, value: Literal? = nil, fromAttribute: String? = nil, pattern: Pattern? = nil,
                convertedType: ConvertedType? = nil) {
        self.kind = kind
        self.key = key
        self.value = value
        self.fromAttribute = fromAttribute
        self.pattern = pattern
        self.convertedType = convertedType
    }
}

extension AttributeAction: Equatable {
    public static func == (a: AttributeAction, b: AttributeAction) -> Bool {
        a.kind == b.kind && a.key == b.key && a.value == b.value && a.fromAttribute == b.fromAttribute
            && a.pattern?.source == b.pattern?.source && a.convertedType == b.convertedType
    }
}
