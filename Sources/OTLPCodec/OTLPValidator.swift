/// Validates serialized OTLP export requests and counts what they carry. This runs on the
/// receive path for every request, so it neither decodes nor allocates: one pass over the
/// bytes, guided by the protobuf-c descriptors (see `WireValidator` for exactly what is
/// checked). Thread-safe; no shared mutable state.
public enum OTLPValidator {
    /// The number of spans (`.traces`) or log records (`.logs`) in `bytes`, a serialized
    /// `ExportTraceServiceRequest` / `ExportLogsServiceRequest`.
    ///
    /// Empty input is a valid empty request (0). Throws `OTLPDecodeError` with code
    /// `.malformedProtobuf` when the bytes are not a well-formed request, e.g.
    /// `malformed protobuf: ExportTraceServiceRequest could not be decoded (truncated varint at offset 3)`.
    public static func count(_ signal: OTLPSignal, protobuf bytes: [UInt8]) throws(OTLPDecodeError) -> Int {
        try counts(signal, protobuf: bytes).items
    }

    /// Same as `count(_:protobuf:)`.
    public static func count(_ signal: OTLPSignal, _ bytes: [UInt8]) throws(OTLPDecodeError) -> Int {
        try counts(signal, protobuf: bytes).items
    }

    /// Like `count`, with the number of resource and scope entries as well.
    public static func counts(_ signal: OTLPSignal, protobuf bytes: [UInt8]) throws(OTLPDecodeError) -> OTLPCounts {
        try bytes.withBytes { (raw) throws(OTLPDecodeError) in
            try counts(signal, protobuf: raw)
        }
    }

    /// Like `counts`, reading borrowed memory (for callers holding a receive buffer).
    public static func counts(
        _ signal: OTLPSignal, protobuf bytes: UnsafeRawBufferPointer
    ) throws(OTLPDecodeError) -> OTLPCounts {
        do throws(ProtoWire.WireError) {
            let c = try WireValidator.shared.validate(message: OTLPSchema.shared.request(signal), bytes)
            return OTLPCounts(resources: c.resources, scopes: c.scopes, items: c.items)
        } catch {
            throw OTLPDecodeError.malformed(signal, error.detail)
        }
    }
}
