import CollectorCore
import Patterns

/// Settings of the `filelog` receiver (the OTel Collector's key names where they exist).
///
/// Keys: `include`, `exclude` (glob(3) patterns, plus `**` as a path component for any number
/// of directories; `exclude` is matched with fnmatch(3) against the full path, `*` also crossing
/// `/`), `start_at` (beginning|end, default
/// end; only applies to files found at the very first start, i.e. when no checkpoint file exists:
/// after that every file not in the checkpoint is read from its beginning so that files created
/// while the collector was down are not skipped), `poll_interval` (200ms), `max_log_size`
/// (1 MiB), `encoding` (utf-8 only; invalid bytes become U+FFFD), `multiline.line_start_pattern`
/// or `multiline.line_end_pattern`
/// (RE2 syntax, as in the OTel Collector, matched at the start of each line), `format` (none|cri|docker, default none;
/// our own key, standing in for the OTel `container` operator), `storage` (checkpoint directory,
/// default `./data/filelog`), `include_file_name` (true), `include_file_path` (false),
/// `include_file_name_resolved` and `include_file_path_resolved` (false: symbolic links resolved),
/// `force_flush_period` (500ms: a held partial line or multiline record is emitted after that
/// long without new data), `fingerprint_size` (1000 bytes), `parse_json` (false; our own key:
/// JSON-object bodies give the record its trace_id, span_id, severity and time, see `JSONBody`),
/// `operators` (the OTel `container` and `json_parser` operators, see `parseOperators`).
public struct FileLogSettings: ComponentSettings, Equatable {
    public enum StartAt: String, Sendable, Equatable { case beginning, end }
    public enum Format: String, Sendable, Equatable { case none, cri, docker, auto }

    public var include: [String] = []
    public var exclude: [String] = []
    public var startAt = StartAt.end
    public var pollInterval: UInt64 = 200_000_000
    public var maxLogSize = 1 << 20
    public var lineStartPattern: String?
    /// `multiline.line_end_pattern`: a line matching it ends the record.
    public var lineEndPattern: String?
    public var format = Format.none
    public var storage = "./data/filelog"
    public var includeFileName = true
    public var includeFilePath = false
    /// `include_file_name_resolved` / `include_file_path_resolved`: the same with symbolic links
    /// resolved (`log.file.name_resolved`, `log.file.path_resolved`).
    public var includeFileNameResolved = false
    public var includeFilePathResolved = false
    public var forceFlushPeriod: UInt64 = 500_000_000
    public var fingerprintSize = 1000
    public var parseJSON = false
    /// The OTel `json_parser` operator, when configured (see `JSONParser`).
    public var jsonParser: JSONParserSettings?
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
    /// `file_cache_advise` (Fluent Bit's key; true): file pages read and acknowledged are
    /// dropped from the page cache (`POSIX_FADV_DONTNEED`), so tailing a node's logs does not
    /// push everything else out of it.
    public var fileCacheAdvise = true
    /// Acknowledged bytes of a file gathered before the kernel is advised (internal bound).
    public var fileCacheAdviseStep: Int64 = 256 << 10
    /// After a file left the globs (renamed away or deleted), how long it is still read from its
    /// open descriptor before being closed.
    public var rotateWait: UInt64 = 5_000_000_000

    public init() {}
}

public struct FileLogFactory: ReceiverFactory {
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
            for key in ["line_start_pattern", "line_end_pattern"] {
                let pattern = multiline.string(key, default: "")
                guard !pattern.isEmpty else { continue }
                do {
                    _ = try Pattern(pattern)
                } catch {
                    multiline.problem(key, error.description)
                    continue
                }
                if key == "line_start_pattern" {
                    s.lineStartPattern = pattern
                } else {
                    s.lineEndPattern = pattern
                }
            }
            if s.lineStartPattern != nil && s.lineEndPattern != nil {
                multiline.problem("line_end_pattern", "only one of line_start_pattern and line_end_pattern can be set")
            }
        }
        let format = reader.choice("format", ["none", "cri", "docker", "auto"], default: s.format.rawValue)
        s.format = FileLogSettings.Format(rawValue: format) ?? .none
        Self.parseOperators(reader, into: &s)
        s.storage = reader.string("storage", default: s.storage)
        s.includeFileName = reader.bool("include_file_name", default: s.includeFileName)
        s.includeFilePath = reader.bool("include_file_path", default: s.includeFilePath)
        s.includeFileNameResolved = reader.bool("include_file_name_resolved", default: s.includeFileNameResolved)
        s.includeFilePathResolved = reader.bool("include_file_path_resolved", default: s.includeFilePathResolved)
        s.forceFlushPeriod = reader.duration("force_flush_period", default: s.forceFlushPeriod)
        s.parseJSON = reader.bool("parse_json", default: s.parseJSON)
        s.fingerprintSize = reader.int("fingerprint_size", default: s.fingerprintSize, range: 16...(1 << 20))
        s.fileCacheAdvise = reader.bool("file_cache_advise", default: s.fileCacheAdvise)
        if (s.lineStartPattern != nil || s.lineEndPattern != nil) && s.format != .none {
            reader.problem("multiline", "multiline cannot be combined with format \(s.format.rawValue)")
        }
        return s
    }

    /// The OTel Collector's `operators` list, as far as this receiver implements it:
    /// - `container` (`format`: docker, crio, containerd, or auto-detected per line when absent;
    ///   `add_metadata_from_filepath`);
    /// - `json_parser` (after `container` when both are present): `parse_from: body` and
    ///   `parse_to: attributes` (the only values supported, and the defaults), `on_error`
    ///   (send|send_quiet: bodies that are not JSON objects pass unchanged), `parse_ints` (false,
    ///   as in OTel: numbers become doubles; true makes integers int values),
    ///   `timestamp` {`parse_from`, `layout_type` strptime|gotime|epoch, `layout`}, `severity`
    ///   {`parse_from`}, `trace` {`trace_id`, `span_id`, `trace_flags`: {`parse_from`}, defaulting
    ///   to `attributes.trace_id`, `attributes.span_id` and `attributes.trace_flags`}.
    ///   `parse_from` fields are `attributes.<name>` (`.a.b` or `["a.b"]` for nested or dotted
    ///   names), looked up in the parsed JSON object. strptime/gotime timestamps are parsed as
    ///   RFC 3339 whatever the `layout`; epoch layouts are s, ms, us, ns, s.ms, s.us, s.ns.
    /// Other operator types and keys (`if`, `output`, `severity.mapping`, `timestamp.location`, ...)
    /// are reported as config errors rather than silently ignored.
    static func parseOperators(_ reader: ConfigReader, into s: inout FileLogSettings) {
        var containers = 0, jsonParsers = 0
        for op in reader.sectionList("operators") {
            _ = op.string("id", default: "")
            let type = op.string("type", default: "")
            switch type {
            case "container":
                containers += 1
                if containers > 1 { op.problem("type", "only one container operator is supported") }
                if s.format != .none { op.problem("type", "the container operator cannot be combined with format \(s.format.rawValue)") }
                if jsonParsers > 0 { op.problem("type", "the container operator must come before json_parser") }
                let format = op.choice("format", ["auto", "docker", "crio", "containerd"], default: "auto")
                s.format = switch format {
                case "docker": .docker
                case "crio", "containerd": .cri
                default: .auto
                }
                s.kubernetesMetadata = op.bool("add_metadata_from_filepath", default: true)
            case "json_parser":
                jsonParsers += 1
                if jsonParsers > 1 { op.problem("type", "only one json_parser operator is supported") }
                s.jsonParser = parseJSONParser(op)
            case "":
                op.problem("type", "every operator needs a type")
            default:
                op.problem("type", "unsupported operator type \"\(type)\" (supported: container, json_parser)")
            }
        }
    }

    static func parseJSONParser(_ op: ConfigReader) -> JSONParserSettings {
        var p = JSONParserSettings()
        _ = op.choice("parse_from", ["body"], default: "body")
        _ = op.choice("parse_to", ["attributes"], default: "attributes")
        _ = op.choice("on_error", ["send", "send_quiet"], default: "send")
        p.parseInts = op.bool("parse_ints", default: p.parseInts)
        if let t = op.section("timestamp") {
            let from = field(t, "parse_from", default: nil)
            let type = t.choice("layout_type", ["strptime", "gotime", "epoch"], default: "strptime")
            let layout = t.string("layout", default: "")
            var parsed = JSONParserSettings.TimeLayout.rfc3339
            if type == "epoch" {
                let units: [String: UInt64] = ["s": 1_000_000_000, "ms": 1_000_000, "us": 1000, "ns": 1,
                                               "s.ms": 1_000_000_000, "s.us": 1_000_000_000, "s.ns": 1_000_000_000]
                if let unit = units[layout] {
                    parsed = .epoch(nanosPerUnit: unit)
                } else {
                    t.problem("layout", "the epoch layout must be one of s, ms, us, ns, s.ms, s.us, s.ns")
                }
            }
            if let from { p.timestamp = JSONParserSettings.Timestamp(parseFrom: from, layout: parsed) }
        }
        if let severity = op.section("severity") {
            p.severity = field(severity, "parse_from", default: nil)
        }
        if let trace = op.section("trace") {
            func part(_ key: String) -> [String]? {
                guard let section = trace.section(key) else { return [key] }
                return field(section, "parse_from", default: [key])
            }
            p.traceID = part("trace_id")
            p.spanID = part("span_id")
            p.traceFlags = part("trace_flags")
        }
        return p
    }

    /// A `parse_from` field of `reader`: `attributes.a.b` or `attributes["a.b"]` as its path in
    /// the parsed JSON object. Absent: `fallback`, or a problem when there is none (required).
    static func field(_ reader: ConfigReader, _ key: String, default fallback: [String]?) -> [String]? {
        let text = reader.string(key, default: "")
        if text.isEmpty {
            if fallback == nil { reader.problem(key, "\(key) is required") }
            return fallback
        }
        guard let path = JSONParserSettings.fieldPath(text) else {
            reader.problem(key, "expected a field attributes.<name> (json_parser writes the JSON fields to attributes), found \"\(text)\"")
            return fallback
        }
        return path
    }
}

/// Settings of the OTel `json_parser` operator (see `FileLogFactory.parseOperators`). Fields
/// are paths into the body's JSON object: `attributes.time` is `["time"]`.
public struct JSONParserSettings: Sendable, Equatable {
    public enum TimeLayout: Sendable, Equatable {
        /// strptime and gotime layouts: RFC 3339 text, whatever the layout says.
        case rfc3339
        /// A number, or a string holding one, of these units since the Unix epoch (fractions allowed).
        case epoch(nanosPerUnit: UInt64)
    }
    public struct Timestamp: Sendable, Equatable {
        public var parseFrom: [String]
        public var layout: TimeLayout
        public init(parseFrom: [String], layout: TimeLayout) {
            self.parseFrom = parseFrom
            self.layout = layout
        }
    }

    /// Integers become int values (false: doubles, like every other number).
    public var parseInts = false
    public var timestamp: Timestamp?
    public var severity: [String]?
    public var traceID: [String]?
    public var spanID: [String]?
    public var traceFlags: [String]?

    public init() {}

    /// `attributes.a.b`, `attributes["a.b"]`, `attributes['a']["b"]` as `["a", "b"]`, `["a.b"]`...;
    /// nil when not a field under `attributes`.
    static func fieldPath(_ text: String) -> [String]? {
        guard text.hasPrefix("attributes") else { return nil }
        var rest = text.dropFirst("attributes".count)
        var path: [String] = []
        while let c = rest.first {
            if c == "." {
                rest = rest.dropFirst()
                let name = rest.prefix { $0 != "." && $0 != "[" }
                guard !name.isEmpty else { return nil }
                path.append(String(name))
                rest = rest.dropFirst(name.count)
            } else if c == "[", let quote = rest.dropFirst().first, quote == "\"" || quote == "'" {
                rest = rest.dropFirst(2)
                guard let end = rest.firstIndex(of: quote) else { return nil }
                path.append(String(rest[..<end]))
                rest = rest[end...].dropFirst()
                guard rest.first == "]" else { return nil }
                rest = rest.dropFirst()
            } else {
                return nil
            }
        }
        return path.isEmpty ? nil : path
    }
}

extension FileLogFactory {
    public func makeReceiver(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Receiver {
        FileLogReceiver(name: context.id.description, settings: try context.settings(settings, as: FileLogSettings.self),
                        metrics: context.metrics, logger: context.logger)
    }
}
