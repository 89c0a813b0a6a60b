import Buffers
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
        emit(replacing(batch, with: rewritten))
    }

    /// The same, writing into a buffer from `spare`: `rewrite` writes the new request into the
    /// writer and says whether anything changed. The replaced payload goes back to `spare`.
    public static func process(_ batch: TelemetryBatch, logger: Logger, what: String, spare: inout SpareBuffers,
                               emit: (TelemetryBatch) -> Void,
                               rewrite: (UnsafeRawBufferPointer, inout OTLPWireWriter) throws -> Bool) {
        var out = OTLPWireWriter(reusing: spare.take(capacity: batch.payload.count + 1024), capacity: batch.payload.count + 1024)
        let changed: Bool
        do {
            changed = try batch.payload.withUnsafeBytes { try rewrite($0, &out) }
        } catch {
            spare.give(out.take())
            logger.warn("could not apply \(what) to a \(batch.signal) batch (\(error)); passing it on unchanged")
            return emit(batch)
        }
        guard changed else {
            spare.give(out.take())
            return emit(batch)
        }
        emit(replacing(batch, with: out.take()))
        spare.give(batch.payload)
    }

    private static func replacing(_ batch: TelemetryBatch, with payload: [UInt8]) -> TelemetryBatch {
        TelemetryBatch(signal: batch.signal, payload: payload, itemCount: batch.itemCount, tokens: batch.tokens,
                       origins: batch.origins.kept(ifResourceCount: OTLPScanner.resourceCount(payload)))
    }
}
