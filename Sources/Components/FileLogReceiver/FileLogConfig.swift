import CollectorCore

/// Settings of the `filelog` receiver (the OTel Collector's key names where they exist).
///
/// Keys: `include`, `exclude` (glob(3) patterns, plus `**` as a path component for any number
/// of directories; `exclude` is matched with fnmatch(3) against the full path, `*` also crossing
/// `/`), `start_at` (beginning|end, default
/// end; only applies to files found at the very first start, i.e. when no checkpoint file exists:
/// after that every file not in the checkpoint is read from its beginning so that files created
/// while the collector was down are not skipped), `poll_interval` (200ms), `max_log_size`
/// (1 MiB), `encoding` (utf-8 only; invalid bytes become U+FFFD), `multiline.line_start_pattern`
/// (a Swift Regex matched at the start of each line), `format` (none|cri|docker, default none;
/// our own key, standing in for the OTel `container` operator), `storage` (checkpoint directory,
/// default `./data/filelog`), `include_file_name` (true), `include_file_path` (false),
/// `force_flush_period` (500ms: a held partial line or multiline record is emitted after that
/// long without new data), `fingerprint_size` (1000 bytes), `parse_json` (false; our own key:
/// JSON-object bodies give the record its trace_id, span_id, severity and time, see `JSONBody`).
public struct FileLogSettings: ComponentSettings, Equatable {
    public enum StartAt: String, Sendable, Equatable { case beginning, end }
    public enum Format: String, Sendable, Equatable { case none, cri, docker, auto }

    public var include: [String] = []
    public var exclude: [String] = []
    public var startAt = StartAt.end
    public var pollInterval: UInt64 = 200_000_000
    public var maxLogSize = 1 << 20
    public var lineStartPattern: String?
    public var format = Format.none
    public var storage = "./data/filelog"
    public var includeFileName = true
    public var includeFilePath = false
    public var forceFlushPeriod: UInt64 = 500_000_000
    public var fingerprintSize = 1000
    public var parseJSON = false
    /// Kubernetes resource attributes from `/var/log/pods/...` paths (the `container`
    /// operator's `add_metadata_from_filepath`; on by default).
    public var kubernetesMetadata = true
    /// Records and record bytes per emitted batch (internal bounds, not config keys). Batches
    /// stay below glibc's mmap threshold, so their buffers come from the heap's free lists.
    public var maxBatchRecords = 1000
    public var maxBatchBytes = 128 << 10
    /// Payload bytes sent and not yet acknowledged before reading pauses (internal bound: it
    /// caps the receiver's share of memory, as Fluent Bit's `Mem_Buf_Limit` does).
    public var maxInFlightBytes = 4 << 20
    /// After a file left the globs (renamed away or deleted), how long it is still read from its
    /// open descriptor before being closed.
    public var rotateWait: UInt64 = 5_000_000_000

    public init() {}
}

public struct FileLogFactory: ComponentFactory {
    public init() {}
    public var type: String { "filelog" }
    public var kind: ComponentKind { .receiver }
    public var signals: Set<Signal> { [.logs] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = FileLogSettings()
        s.include = reader.stringList("include")
        if s.include.isEmpty { reader.problem("include", "at least one include pattern is required") }
        s.exclude = reader.stringList("exclude")
        let start = reader.choice("start_at", ["beginning", "end"], default: s.startAt.rawValue)
        s.startAt = FileLogSettings.StartAt(rawValue: start) ?? .end
        s.pollInterval = reader.duration("poll_interval", default: s.pollInterval)
        if s.pollInterval < 1_000_000 { reader.problem("poll_interval", "must be at least 1ms") ; s.pollInterval = 200_000_000 }
        s.maxLogSize = reader.int("max_log_size", default: s.maxLogSize, range: 1...(256 << 20))
        _ = reader.choice("encoding", ["utf-8", "utf8"], default: "utf-8")
        if let multiline = reader.section("multiline") {
            let pattern = multiline.string("line_start_pattern", default: "")
            if !pattern.isEmpty {
                if (try? Regex(pattern)) == nil {
                    multiline.problem("line_start_pattern", "invalid regular expression \"\(pattern)\"")
                } else {
                    s.lineStartPattern = pattern
                }
            }
        }
        let format = reader.choice("format", ["none", "cri", "docker", "auto"], default: s.format.rawValue)
        s.format = FileLogSettings.Format(rawValue: format) ?? .none
        Self.parseOperators(reader, into: &s)
        s.storage = reader.string("storage", default: s.storage)
        s.includeFileName = reader.bool("include_file_name", default: s.includeFileName)
        s.includeFilePath = reader.bool("include_file_path", default: s.includeFilePath)
        s.forceFlushPeriod = reader.duration("force_flush_period", default: s.forceFlushPeriod)
        s.parseJSON = reader.bool("parse_json", default: s.parseJSON)
        s.fingerprintSize = reader.int("fingerprint_size", default: s.fingerprintSize, range: 16...(1 << 20))
        if s.lineStartPattern != nil && s.format != .none {
            reader.problem("multiline", "multiline cannot be combined with format \(s.format.rawValue)")
        }
        return s
    }

    /// The OTel Collector's `operators` list, as far as this receiver implements it: `container`
    /// (`format`: docker, crio, containerd, or auto-detected per line when absent;
    /// `add_metadata_from_filepath`). Other operator types are reported as unsupported rather
    /// than silently ignored.
    static func parseOperators(_ reader: ConfigReader, into s: inout FileLogSettings) {
        var containers = 0
        for op in reader.sectionList("operators") {
            _ = op.string("id", default: "")
            let type = op.string("type", default: "")
            switch type {
            case "container":
                containers += 1
                if containers > 1 { op.problem("type", "only one container operator is supported") }
                if s.format != .none { op.problem("type", "the container operator cannot be combined with format \(s.format.rawValue)") }
                let format = op.choice("format", ["auto", "docker", "crio", "containerd"], default: "auto")
                s.format = switch format {
                case "docker": .docker
                case "crio", "containerd": .cri
                default: .auto
                }
                s.kubernetesMetadata = op.bool("add_metadata_from_filepath", default: true)
            case "":
                op.problem("type", "every operator needs a type")
            case "json_parser":
                op.problem("type", "operator json_parser is not supported; parse_json: true reads trace_id, span_id, severity and time from JSON bodies")
            default:
                op.problem("type", "unsupported operator type \"\(type)\" (supported: container)")
            }
        }
    }
}
