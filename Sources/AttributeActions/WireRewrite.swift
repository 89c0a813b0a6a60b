import CollectorCore
import OTLPCodec

/// How the processors that edit requests on the wire hand a batch on: rewritten when
/// `rewrite` returns bytes (same items, same acknowledgement tokens), as it came when it
/// returns nil, and as it came (logged) when it cannot be read, since receivers validated it
/// and losing it would be worse than passing it on unedited.
public enum WireRewrite {
    public static func process(_ batch: TelemetryBatch, logger: Logger, what: String, emit: (TelemetryBatch) -> Void,
                               rewrite: (UnsafeRawBufferPointer) throws -> [UInt8]?) {
        let rewritten: [UInt8]?
        do {
            rewritten = try batch.payload.withUnsafeBytes { try rewrite($0) }
        } catch {
            logger.warn("could not apply \(what) to a \(batch.signal) batch (\(error)); passing it on unchanged")
            return emit(batch)
        }
        guard let rewritten else { return emit(batch) }
        emit(TelemetryBatch(signal: batch.signal, payload: rewritten, itemCount: batch.itemCount, tokens: batch.tokens,
                            origins: batch.origins.kept(ifResourceCount: OTLPScanner.resourceCount(rewritten))))
    }
}

