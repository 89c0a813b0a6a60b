import CollectorCore
import Store

/// Settings of the `store` exporter: where and how the segment store keeps traces and logs.
public struct StoreExporterSettings: ComponentSettings, Equatable {
    public var store = StoreConfig(directory: "./data")
    public init() {}
}

public struct StoreExporterFactory: ExporterFactory {
    public init() {}
    public var type: String { "store" }
    public var kind: ComponentKind { .exporter }
    public var signals: Set<Signal> { [.traces, .logs] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = StoreExporterSettings()
        var c = s.store
        c.directory = reader.string("directory", default: c.directory)
        c.segmentMaxBytes = UInt64(reader.int("segment_max_bytes", default: Int(c.segmentMaxBytes), range: 4096...Int(UInt32.max)))
        if let age = optionalDuration(reader, "segment_max_age", default: c.segmentMaxAge) { c.segmentMaxAge = age }
        if let retention = reader.section("retention") {
            let bytes = retention.int("max_bytes", default: Int(c.retentionMaxBytes ?? 0), range: 0...Int.max)
            c.retentionMaxBytes = bytes == 0 ? nil : UInt64(bytes)
            let age = retention.duration("max_age", default: c.retentionMaxAge.map(nanos) ?? 0)
            c.retentionMaxAge = age == 0 ? nil : .nanoseconds(Int64(age))
        }
        let interval = reader.duration("sync_interval", default: 1_000_000_000)
        switch reader.choice("sync", ["none", "interval", "always"], default: "interval") {
        case "none": c.sync = .none
        case "always": c.sync = .always
        default: c.sync = .interval(.nanoseconds(Int64(max(interval, 1))))
        }
        c.compressionLevel = reader.int("compression_level", default: c.compressionLevel, range: -7...22)
        c.blockMaxBytes = reader.int("block_max_bytes", default: c.blockMaxBytes, range: 1024...(64 << 20))
        c.cacheBytes = reader.int("cache_bytes", default: c.cacheBytes, range: 0...(4 << 30))
        for problem in c.validate() {
            let key = String(problem.prefix(while: { $0 != ":" }))
            reader.problem(key, String(problem.drop(while: { $0 != ":" }).dropFirst().drop(while: { $0 == " " })))
        }
        s.store = c
        return s
    }

    private func optionalDuration(_ reader: ConfigReader, _ key: String, default value: Duration?) -> Duration? {
        let ns = reader.duration(key, default: value.map(nanos) ?? 0)
        return ns == 0 ? nil : .nanoseconds(Int64(ns))
    }

    private func nanos(_ d: Duration) -> UInt64 {
        let (s, atto) = d.components
        return UInt64(max(0, s)) * 1_000_000_000 + UInt64(max(0, atto) / 1_000_000_000)
    }
}

extension StoreExporterFactory {
    public func makeExporter(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Exporter {
        let s = try context.settings(settings, as: StoreExporterSettings.self)
        let stores = try context.service(StoreRegistry.self)
        let store = try stores.acquire(s.store)
        let directory = s.store.directory
        return StoreExporter(store: store) { stores.release(directory: directory) }
    }
}
