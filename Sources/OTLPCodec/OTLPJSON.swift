/// OTLP/JSON (the OTLP/HTTP `application/json` encoding) to and from OTLP protobuf.
///
/// See https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding. Both directions are
/// generic over the protobuf-c descriptors of the pinned opentelemetry-proto, with OTLP's
/// changes to proto3 JSON: hex trace/span ids, integer enums, lowerCamelCase keys. The exact
/// rules are on `OTLPJSONTranscoder` (input) and `OTLPJSONEncoder` (output). Thread-safe.
public enum OTLPJSON {
    /// Converts an OTLP/JSON request body into the serialized protobuf request.
    ///
    /// Throws `OTLPDecodeError`: `.invalidJSON` for malformed JSON
    /// (`invalid JSON at offset 120: expected ',' or '}' in an object, found ']'`),
    /// `.invalidOTLPJSON` / `.tooDeep` for JSON that is not a valid request
    /// (`invalid OTLP JSON at offset 88 (resourceSpans[0].scopeSpans[0].spans[0].traceId): expected 32 hex digits (16 bytes), got 30 characters`).
    public static func decode(_ signal: OTLPSignal, json: [UInt8]) throws(OTLPDecodeError) -> [UInt8] {
        try decode(message: OTLPSchema.shared.request(signal), json: json)
    }

    /// Converts a serialized protobuf request into OTLP/JSON (compact, UTF-8).
    ///
    /// Throws `.malformedProtobuf` when `protobuf` is not a valid request.
    public static func encode(_ signal: OTLPSignal, protobuf: [UInt8]) throws(OTLPDecodeError) -> [UInt8] {
        try encode(message: OTLPSchema.shared.request(signal), name: signal.requestMessageName, protobuf: protobuf)
    }

    static func decode(message: Int, json: [UInt8]) throws(OTLPDecodeError) -> [UInt8] {
        // The reader unescapes strings in place, so it works on a private copy.
        var text = json
        let result = text.withUnsafeMutableBytes { buffer in
            capture { () throws(OTLPDecodeError) in
                var transcoder = OTLPJSONTranscoder(text: buffer)
                return try transcoder.decode(message: message)
            }
        }
        return try result.get()
    }

    /// `decode` by the reference decoder (protobuf-c messages, packed by protobuf-c), which tests
    /// and the fuzz target hold the transcoder to, and benchmarks compare it with. Not for
    /// production: it is several times slower.
    public static func referenceDecode(_ signal: OTLPSignal, json: [UInt8]) throws(OTLPDecodeError) -> [UInt8] {
        var text = json
        let message = OTLPSchema.shared.request(signal)
        let result = text.withUnsafeMutableBytes { buffer in
            capture { () throws(OTLPDecodeError) in
                var decoder = OTLPJSONReferenceDecoder(text: buffer)
                return try decoder.decode(message: message)
            }
        }
        return try result.get()
    }

    static func encode(message: Int, name: String, protobuf: [UInt8]) throws(OTLPDecodeError) -> [UInt8] {
        try ArenaPool.shared.withUnpacked(message: message, messageName: name, protobuf) { decoded in
            var encoder = OTLPJSONEncoder(capacity: protobuf.count * 2 + 16)
            encoder.message(message, decoded)
            return encoder.writer.out
        }
    }
}
