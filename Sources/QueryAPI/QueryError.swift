/// Why a stored trace could not be turned into an answer (a 500: the reader handed out bytes
/// that are not the OTLP request they should be).
///
/// A struct with a private representation, per the style guide, so new cases break nobody.
public struct QueryError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Kind: Hashable {
        case malformed(message: String)
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    /// Bytes that protobuf-c does not accept as `message` (`ExportTraceServiceRequest`...).
    static func malformed(_ message: String) -> QueryError { QueryError(.malformed(message: message)) }

    public var description: String {
        switch kind {
        case .malformed(let message): "stored data is not a valid \(message)"
        }
    }
}
