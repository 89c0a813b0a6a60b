/// Something the store did or found that its owner should log and count: one typed event per
/// occurrence, delivered to the `onEvent` closure given to ``TraceStore/init(config:clock:onEvent:)``.
///
/// Events are delivered synchronously on the thread that caused them (an appending thread, a
/// query, or the store's maintenance queue); the closure must be quick and must not call back
/// into the store's writing methods.
public struct StoreEvent: Sendable, Hashable, CustomStringConvertible {
    /// How serious it is: `.info` for routine work, `.warning` for data that was cut or
    /// skipped, `.error` for failures.
    public enum Severity: Sendable, Hashable {
        case info, warning, error
    }

    /// What happened.
    public enum Kind: Sendable, Hashable {
        /// Recovery cut a torn or corrupt tail off an unsealed segment: `offset` is the new
        /// file length, `bytes` how many bytes were removed.
        case truncatedTail(file: String, offset: UInt64, bytes: UInt64, reason: String)
        /// A bad block (or run of bytes) was skipped and left in place; later blocks are fine.
        case skippedCorruptRange(file: String, offset: UInt64, bytes: UInt64, reason: String)
        /// A block failed its checks when read for a query; it is skipped from now on.
        case corruptBlock(file: String, offset: UInt64, reason: String)
        /// A sealed segment's index is unusable; the segment is served from an index rebuilt
        /// in memory (nothing on disk is rewritten).
        case corruptIndex(file: String, reason: String)
        /// A segment cannot be read at all (bad file header); it is skipped and left in place.
        case corruptSegment(file: String, reason: String)
        /// A segment was sealed: its index was written.
        case sealed(file: String, blocks: Int, traces: Int, bytes: UInt64)
        /// Sealing failed; the segment stays served from memory and is sealed at next open.
        case sealFailed(file: String, reason: String)
        /// Retention deleted a sealed segment (`reason`: `max_bytes` or `max_age`).
        case deleted(file: String, bytes: UInt64, reason: String)
        /// A leftover file from an interrupted operation was removed.
        case removedLeftover(file: String)
        /// A background operation (fsync, rotation, deletion) failed.
        case failed(operation: String, error: String)
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public var severity: Severity {
        switch kind {
        case .sealed, .removedLeftover, .deleted: .info
        case .truncatedTail, .skippedCorruptRange, .corruptBlock, .corruptIndex, .corruptSegment: .warning
        case .sealFailed, .failed: .error
        }
    }

    public var description: String {
        switch kind {
        case .truncatedTail(let file, let offset, let bytes, let reason):
            "truncated \(file) at offset \(offset): cut \(bytes) bytes (\(reason))"
        case .skippedCorruptRange(let file, let offset, let bytes, let reason):
            "skipped \(bytes) corrupt bytes in \(file) at offset \(offset) (\(reason))"
        case .corruptBlock(let file, let offset, let reason):
            "corrupt block in \(file) at offset \(offset), skipped (\(reason))"
        case .corruptIndex(let file, let reason):
            "corrupt index \(file) (\(reason)); serving the segment from a rebuilt in-memory index"
        case .corruptSegment(let file, let reason):
            "corrupt segment \(file) (\(reason)); skipped"
        case .sealed(let file, let blocks, let traces, let bytes):
            "sealed \(file): \(blocks) blocks, \(traces) traces, \(bytes) bytes"
        case .sealFailed(let file, let reason):
            "sealing \(file) failed: \(reason)"
        case .deleted(let file, let bytes, let reason):
            "deleted \(file) (\(bytes) bytes, retention \(reason))"
        case .removedLeftover(let file):
            "removed leftover \(file)"
        case .failed(let operation, let error):
            "\(operation) failed: \(error)"
        }
    }
}
