import CollectorCore
import Glibc
import OTLPCodec

/// One Loki stream of a push: its label set (sorted by name) and its entries in timestamp order.
struct LokiStream: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        var timestampNanos: UInt64
        var line: String
        /// Structured metadata: (name, value) in a fixed order (see `LokiStreamBuilder`).
        var metadata: [LokiLabel]
    }

    var labels: [LokiLabel]
    var entries: [Entry]

    /// The label set in Loki's text form: `{a="x", b="y"}`.
    var labelText: String {
        "{" + labels.map { "\($0.name)=\"\(LabelValue.escaped($0.value))\"" }.joined(separator: ", ") + "}"
    }
}

struct LokiLabel: Sendable, Equatable, Hashable {
    var name: String
    var value: String
}

/// Turns OTLP log records into Loki streams.
///
/// - Labels: the configured resource attributes, then record attributes, that the record has;
///   names sanitized to `[a-zA-Z_][a-zA-Z0-9_]*` (other characters become `_`, a leading digit
///   gets a `_` prefix); a record with none of them gets `{exporter="collectord"}`, because
///   Loki refuses streams without labels.
/// - Line: the body as text.
/// - Structured metadata, in this order: `trace_id`, `span_id`, `severity` (severity text, or
///   the severity number's name when there is no text) when present, then the record's other
///   attributes, then the resource's other attributes (names sanitized).
/// - Timestamp: `time_unix_nano`, else `observed_time_unix_nano`, else the wall clock now.
/// - Streams appear in the order of their first record; entries are stably sorted by time.
struct LokiStreamBuilder: Sendable {
    var resourceLabels: [String]
    var attributeLabels: [String]
    /// The configured label names, sanitized once.
    private let resourceLabelNames: [String]
    private let attributeLabelNames: [String]

    init(resourceLabels: [String], attributeLabels: [String]) {
        self.resourceLabels = resourceLabels
        self.attributeLabels = attributeLabels
        resourceLabelNames = resourceLabels.map(Self.sanitize)
        attributeLabelNames = attributeLabels.map(Self.sanitize)
    }

    func streams(_ records: [OTLPLogRecord], now: UInt64 = Self.wallClockNanos()) -> [LokiStream] {
        // Streams in order of first appearance, grouped by the bytes of their labels (Loki
        // compares bytes; Swift's String equality would merge canonically equivalent values).
        // Consecutive records usually share their labels, so the previous record's stream is
        // tried before hashing.
        var streamLabels: [[LokiLabel]] = []
        var streamEntries: [[LokiStream.Entry]] = []
        var index: [[UInt8]: Int] = [:]
        var previous = -1
        var previousKey: [UInt8] = []
        // Attribute names repeat from record to record: sanitize each once per push (keyed by
        // bytes: canonically equivalent keys sanitize differently).
        var sanitized: [[UInt8]: String] = [:]
        func name(_ key: String) -> String {
            let bytes = Array(key.utf8)
            if let known = sanitized[bytes] { return known }
            let clean = Self.sanitize(key)
            sanitized[bytes] = clean
            return clean
        }
        for record in records {
            var labels: [LokiLabel] = []
            var usedResource: [String] = []
            var usedAttributes: [String] = []
            for (i, key) in resourceLabels.enumerated() {
                if let value = record.resourceAttributes.first(where: { $0.0.utf8.elementsEqual(key.utf8) })?.1 {
                    labels.append(LokiLabel(name: resourceLabelNames[i], value: value))
                    usedResource.append(key)
                }
            }
            for (i, key) in attributeLabels.enumerated() {
                if let value = record.attributes.first(where: { $0.0.utf8.elementsEqual(key.utf8) })?.1 {
                    labels.append(LokiLabel(name: attributeLabelNames[i], value: value))
                    usedAttributes.append(key)
                }
            }
            if labels.isEmpty { labels = [LokiLabel(name: "exporter", value: "collectord")] }
            if labels.count > 1 { labels = Self.dedupSorted(labels) }
            var metadata: [LokiLabel] = []
            if !record.traceID.isEmpty { metadata.append(LokiLabel(name: "trace_id", value: record.traceID)) }
            if !record.spanID.isEmpty { metadata.append(LokiLabel(name: "span_id", value: record.spanID)) }
            let severity = record.severityText.isEmpty ? Self.severityName(record.severityNumber) : record.severityText
            if !severity.isEmpty { metadata.append(LokiLabel(name: "severity", value: severity)) }
            for (k, v) in record.attributes where !usedAttributes.contains(where: { $0.utf8.elementsEqual(k.utf8) }) {
                metadata.append(LokiLabel(name: name(k), value: v))
            }
            for (k, v) in record.resourceAttributes where !usedResource.contains(where: { $0.utf8.elementsEqual(k.utf8) }) {
                metadata.append(LokiLabel(name: name(k), value: v))
            }
            let time = record.timeUnixNano != 0 ? record.timeUnixNano
                : record.observedTimeUnixNano != 0 ? record.observedTimeUnixNano : now
            let entry = LokiStream.Entry(timestampNanos: time, line: record.body, metadata: metadata)
            var key: [UInt8] = []
            for label in labels {
                key += label.name.utf8
                key.append(0)
                key += label.value.utf8
                key.append(0)
            }
            if previous >= 0, key == previousKey {
                streamEntries[previous].append(entry)
            } else if let i = index[key] {
                streamEntries[i].append(entry)
                previous = i
            } else {
                index[key] = streamLabels.count
                previous = streamLabels.count
                streamLabels.append(labels)
                streamEntries.append([entry])
            }
            previousKey = key
        }
        return zip(streamLabels, streamEntries).map { labels, entries in
            var entries = entries
            // Stable: entries already in time order (the usual case) are left as they are.
            if !zip(entries, entries.dropFirst()).allSatisfy({ $0.timestampNanos <= $1.timestampNanos }) {
                entries = entries.enumerated()
                    .sorted { ($0.element.timestampNanos, $0.offset) < ($1.element.timestampNanos, $1.offset) }
                    .map(\.element)
            }
            return LokiStream(labels: labels, entries: entries)
        }
    }

    /// Sorted by name; of two labels with the same sanitized name, the first wins.
    static func dedupSorted(_ labels: [LokiLabel]) -> [LokiLabel] {
        var out: [LokiLabel] = []
        out.reserveCapacity(labels.count)
        for label in labels where !out.contains(where: { $0.name == label.name }) { out.append(label) }
        return out.sorted { $0.name < $1.name }
    }

    /// A valid Prometheus/Loki label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
    static func sanitize(_ name: String) -> String {
        var out = ""
        for c in name.unicodeScalars {
            let ok = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_"
            out.unicodeScalars.append(ok ? c : "_")
        }
        if out.isEmpty { return "_" }
        if let first = out.unicodeScalars.first, first >= "0" && first <= "9" { out = "_" + out }
        return out
    }

    /// OTel severity number ranges: 1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN, 17-20 ERROR, 21-24 FATAL.
    static func severityName(_ number: Int) -> String {
        switch number {
        case 1...4: "TRACE"
        case 5...8: "DEBUG"
        case 9...12: "INFO"
        case 13...16: "WARN"
        case 17...20: "ERROR"
        case 21...24: "FATAL"
        default: ""
        }
    }

    static func wallClockNanos() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
