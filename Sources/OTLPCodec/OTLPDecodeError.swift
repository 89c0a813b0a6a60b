/// Why a payload could not be decoded: malformed protobuf, malformed JSON, or JSON that is
/// well-formed but not a valid OTLP message.
///
/// Every such error is permanent for the request that caused it: retrying the same bytes fails
/// the same way (receivers answer gRPC `INVALID_ARGUMENT` / HTTP 400). `message` is a complete
/// human sentence meant to be sent back to the client, e.g.
/// `malformed protobuf: ExportTraceServiceRequest could not be decoded (truncated length-delimited field at offset 17)`
/// or `invalid JSON at offset 123: expected ',' or '}' after an object member`.
///
/// A struct with a private representation (per the style guide) so new cases break nobody;
/// match on `code` when the kind matters.
public struct OTLPDecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The broad kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The protobuf bytes are not a well-formed message of the expected type.
        public static let malformedProtobuf = Code("malformedProtobuf")
        /// The JSON text is not well-formed JSON.
        public static let invalidJSON = Code("invalidJSON")
        /// Well-formed JSON that does not map to the OTLP message (wrong type, bad id, ...).
        public static let invalidOTLPJSON = Code("invalidOTLPJSON")
        /// Input nested deeper than the decoder allows.
        public static let tooDeep = Code("tooDeep")
        /// A size limit or allocation failed.
        public static let resourceExhausted = Code("resourceExhausted")

        public var description: String { name }
    }

    /// The kind of failure.
    public let code: Code
    /// Byte offset in the input where the problem was found, when known.
    public let offset: Int?
    private let reason: String
    /// Field path (JSON key path such as `resourceSpans[0].scopeSpans[1].spans[3].traceId`),
    /// stored innermost-first while the error unwinds.
    private var reversedPath: [String]

    init(_ code: Code, offset: Int?, _ reason: String) {
        self.code = code
        self.offset = offset
        self.reason = reason
        self.reversedPath = []
    }

    /// The field path of a JSON error, outermost first; empty when unknown.
    public var path: String {
        var out = ""
        for component in reversedPath.reversed() {
            if !out.isEmpty && !component.hasPrefix("[") { out += "." }
            out += component
        }
        return out
    }

    /// A complete human-readable explanation.
    public var message: String {
        let at = offset.map { " at offset \($0)" } ?? ""
        let field = reversedPath.isEmpty ? "" : " (\(path))"
        switch code {
        case .invalidJSON:
            return "invalid JSON\(at): \(reason)"
        case .invalidOTLPJSON, .tooDeep:
            return "invalid OTLP JSON\(at)\(field): \(reason)"
        default:
            return reason
        }
    }

    public var description: String { message }

    /// This error with `component` (a key or `[index]`) added in front of its path.
    func inField(_ component: String) -> OTLPDecodeError {
        var copy = self
        copy.reversedPath.append(component)
        return copy
    }

    /// The standard error for protobuf bytes that are not a valid request of `signal`.
    static func malformed(_ signal: OTLPSignal, _ detail: String) -> OTLPDecodeError {
        malformed(messageName: signal.requestMessageName, detail)
    }

    static func malformed(messageName: String, _ detail: String) -> OTLPDecodeError {
        OTLPDecodeError(
            .malformedProtobuf, offset: nil,
            "malformed protobuf: \(messageName) could not be decoded (\(detail))")
    }
}
