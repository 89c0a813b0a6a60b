import OTLPCodec

/// A trace id as written in URLs: 1 to 32 hex digits (either case), left-padded with zeros
/// to 32 digits as Jaeger and Tempo do (`4bf92f3577b34da6` is `00000000000000004bf92f3577b34da6`).
/// The all-zero id is invalid in OTLP and refused.
enum TraceIDParameter {
    static func parse(_ text: String) throws(ParameterError) -> OTLPTraceID {
        let digits = text.utf8
        guard !digits.isEmpty, digits.count <= 32, digits.allSatisfy({ QueryParameters.hexValue($0) != nil }) else {
            throw ParameterError("invalid trace id \(quoted(text)): expected 1 to 32 hex digits")
        }
        let padded = String(repeating: "0", count: 32 - digits.count) + text
        guard let id = OTLPTraceID(hex: padded) else {
            throw ParameterError("invalid trace id \(quoted(text)): the all-zero id is not a trace id")
        }
        return id
    }

    /// `"text"`, cut to 40 characters for error messages.
    static func quoted(_ text: String) -> String {
        let cut = text.count > 40 ? String(text.prefix(40)) + "..." : text
        var json = JSONOutput(capacity: cut.utf8.count + 2)
        json.string(cut)
        return String(decoding: json.bytes, as: UTF8.self)
    }
}

/// A bad request parameter: `message` is the reason given with the 400 answer.
struct ParameterError: Error, Sendable, Hashable {
    var message: String
    init(_ message: String) { self.message = message }
}
