import CollectorCore

/// `retry_on_failure`, as the OTel Collector's exporterhelper reads it: full-jitter exponential
/// backoff (durations in ns).
public struct RetrySettings: Sendable, Equatable {
    public var enabled = true
    public var initialInterval: UInt64 = 5_000_000_000
    public var maxInterval: UInt64 = 30_000_000_000
    /// Without a disk queue, an export gives up (retryable error, so the client retries) after
    /// this long; with one, nothing is dropped and retries go on at `maxInterval`. 0: never.
    public var maxElapsedTime: UInt64 = 300_000_000_000
    public init() {}
}

/// `sending_queue`. `storage` names a directory for the crash-safe disk queue (`DiskQueue`);
/// without it an export is sent while the pipeline waits (end-to-end acknowledgement: the
/// client is answered once the backend took the data), so `queue_size` and `num_consumers`
/// are accepted as upstream spells them and only bound what is in flight.
public struct QueueSettings: Sendable, Equatable {
    public var enabled = true
    public var numConsumers = 10
    public var queueSize = 1000
    /// The disk queue's directory; nil: no disk queue.
    public var storage: String?
    /// fsync every enqueued batch before `export` returns.
    public var syncEveryBatch = true
    public var segmentMaxBytes = 8 << 20
    public init() {}
}

extension ConfigReader {
    /// Reads `retry_on_failure` into `settings` (keys and checks as upstream).
    public func retrySettings(_ settings: inout RetrySettings) {
        guard let retry = section("retry_on_failure") else { return }
        settings.enabled = retry.bool("enabled", default: settings.enabled)
        settings.initialInterval = retry.duration("initial_interval", default: settings.initialInterval)
        settings.maxInterval = retry.duration("max_interval", default: settings.maxInterval)
        settings.maxElapsedTime = retry.duration("max_elapsed_time", default: settings.maxElapsedTime)
        _ = retry.raw("multiplier")
        _ = retry.raw("randomization_factor")
        if settings.initialInterval == 0 { retry.problem("initial_interval", "must be more than 0") }
        if settings.maxInterval < settings.initialInterval {
            retry.problem("max_interval", "must not be less than initial_interval")
        }
    }

    /// Reads `sending_queue` into `settings`.
    public func queueSettings(_ settings: inout QueueSettings) {
        guard let queue = section("sending_queue") else { return }
        settings.enabled = queue.bool("enabled", default: settings.enabled)
        settings.numConsumers = queue.int("num_consumers", default: settings.numConsumers, range: 1...1000)
        settings.queueSize = queue.int("queue_size", default: settings.queueSize, range: 1...10_000_000)
        let storage = queue.string("storage", default: "")
        settings.storage = storage.isEmpty ? nil : storage
        settings.syncEveryBatch = queue.choice("sync", ["always", "none"], default: "always") == "always"
        settings.segmentMaxBytes = queue.int("segment_max_bytes", default: settings.segmentMaxBytes, range: 4096...Int(Int32.max))
    }
}
