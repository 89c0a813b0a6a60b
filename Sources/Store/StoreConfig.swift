/// Settings of a ``TraceStore``, with complete defaults. The `store` exporter's YAML keys map
/// one to one: `directory`, `segment_max_bytes`, `segment_max_age`, `retention.max_bytes`,
/// `retention.max_age`, `sync`, `compression_level`.
public struct StoreConfig: Sendable, Hashable {
    /// When appended blocks are made durable.
    public enum Sync: Sendable, Hashable {
        /// Never fsync on the write path (sealing still fsyncs the segment and its index).
        case none
        /// A timer fsyncs the active segment when it was written since the last fsync.
        case interval(Duration)
        /// `append` returns only after the block is fsynced.
        case always
    }

    /// Where the segments live; created if missing.
    public var directory: String
    /// The active segment is sealed when the next block would take it past this size.
    public var segmentMaxBytes: UInt64 = 64 << 20
    /// The active segment is sealed when it is this old (and not empty); nil: no age limit.
    public var segmentMaxAge: Duration? = .seconds(3600)
    /// Oldest sealed segments are deleted while the store is larger than this; nil: no limit.
    public var retentionMaxBytes: UInt64? = 2 << 30
    /// Sealed segments sealed longer ago than this are deleted; nil: no limit.
    public var retentionMaxAge: Duration? = .seconds(24 * 3600)
    public var sync: Sync = .interval(.seconds(1))
    /// zstd level (1 fastest ... 19; negative levels are faster still).
    public var compressionLevel: Int = 3
    /// A payload larger than this is split (by items) into several blocks, so that reading one
    /// trace decompresses little (the items of hot traces go to small blocks of their own
    /// anyway: `BlockLayout`).
    public var blockMaxBytes: Int = 4 << 20
    /// Decompressed blocks kept for queries (LRU), in bytes.
    public var cacheBytes: Int = 16 << 20

    public init(directory: String = "./data") {
        self.directory = directory
    }

    /// Every problem, each prefixed with its YAML key; empty when valid.
    public func validate() -> [String] {
        var problems: [String] = []
        if directory.isEmpty { problems.append("directory: must not be empty") }
        if segmentMaxBytes < 4096 { problems.append("segment_max_bytes: must be at least 4096") }
        if segmentMaxBytes > UInt64(UInt32.max) { problems.append("segment_max_bytes: must be at most 4 GiB") }
        if let age = segmentMaxAge, age <= .zero { problems.append("segment_max_age: must be positive") }
        if let max = retentionMaxBytes, max < segmentMaxBytes {
            problems.append("retention.max_bytes: must be at least segment_max_bytes (\(segmentMaxBytes))")
        }
        if let age = retentionMaxAge, age <= .zero { problems.append("retention.max_age: must be positive") }
        if case .interval(let period) = sync, period <= .zero { problems.append("sync: interval must be positive") }
        if compressionLevel < -7 || compressionLevel > 22 { problems.append("compression_level: must be between -7 and 22") }
        if blockMaxBytes < 1024 || blockMaxBytes > StoreFormat.maxUncompressedBlock {
            problems.append("block_max_bytes: must be between 1024 and \(StoreFormat.maxUncompressedBlock)")
        }
        if cacheBytes < 0 { problems.append("cache_bytes: must not be negative") }
        return problems
    }
}

extension Duration {
    /// Whole nanoseconds (saturating).
    public var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole &+ UInt64(attoseconds / 1_000_000_000)
    }
}
