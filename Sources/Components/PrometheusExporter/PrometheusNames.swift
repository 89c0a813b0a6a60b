/// OTel to Prometheus names, as the OTel Collector's Prometheus translator makes them (with
/// `add_metric_suffixes`): the metric name split into its alphanumeric words, the unit's
/// words appended (`ms` -> `milliseconds`, `By/s` -> `bytes_per_second`, `{request}` dropped),
/// `total` appended to counters and `ratio` to gauges of unit `1`, joined by `_`, with the
/// namespace in front. So `traces.span.metrics.calls` becomes
/// `traces_span_metrics_calls_total` and `traces.span.metrics.duration` (ms)
/// `traces_span_metrics_duration_milliseconds`.
enum PrometheusNames {
    static let units: [String: String] = [
        "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds", "us": "microseconds",
        "ns": "nanoseconds", "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes",
        "TiBy": "tibibytes", "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes",
        "m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams", "Cel": "celsius",
        "Hz": "hertz", "%": "percent",
    ]
    static let perUnits: [String: String] = [
        "s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year",
    ]

    /// The alphanumeric words of `text`.
    static func words(_ text: String) -> [String] {
        text.split { !($0.isASCII && ($0.isLetter || $0.isNumber)) }.map(String.init)
    }

    static func metric(_ name: String, unit: String, counter: Bool, gauge: Bool, namespace: String, suffixes: Bool) -> String {
        var tokens = words(name)
        if suffixes {
            // The unit without its {annotations}: "ms", "By/s", "1".
            var plain = unit
            while let open = plain.firstIndex(of: "{"), let close = plain[open...].firstIndex(of: "}") {
                plain.removeSubrange(open...close)
            }
            plain = plain.trimmingCharacters(in: " ")
            let parts = plain.split(separator: "/", maxSplits: 1).map(String.init)
            if let main = parts.first, !main.isEmpty, main != "1" {
                for w in words(units[main] ?? main) where !tokens.contains(w) { tokens.append(w) }
            }
            if parts.count == 2, !parts[1].isEmpty {
                let per = perUnits[parts[1]] ?? parts[1]
                if !tokens.contains(per) { tokens += ["per"] + words(per) }
            }
            if counter {
                tokens.removeAll { $0 == "total" }
                tokens.append("total")
            }
            if gauge && plain == "1" && !tokens.contains("ratio") { tokens.append("ratio") }
        }
        var result = tokens.joined(separator: "_")
        if let first = result.first, first.isNumber { result = "_" + result }
        if !namespace.isEmpty { result = label(namespace) + "_" + result }
        return result
    }

    /// A label name: characters other than ASCII letters, digits and `_` become `_`; a
    /// leading digit gets `key_` in front, a leading single `_` gets `key`.
    static func label(_ name: String) -> String {
        // Most names are ASCII letters, digits, '_' and '.', starting with a letter: no Unicode
        // look-ups for them.
        let utf8 = name.utf8
        if let first = utf8.first, (first | 0x20) >= 0x61 && (first | 0x20) <= 0x7A,
           utf8.allSatisfy({ Self.plainLabelByte($0) || $0 == UInt8(ascii: ".") }) {
            if !utf8.contains(UInt8(ascii: ".")) { return name }
            return String(decoding: utf8.map { $0 == UInt8(ascii: ".") ? UInt8(ascii: "_") : $0 }, as: UTF8.self)
        }
        var out = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") ? $0 : "_" })
        if let first = out.first, first.isNumber { out = "key_" + out } else if out.hasPrefix("_") && !out.hasPrefix("__") {
            out = "key" + out
        }
        return out
    }

    @inline(__always)
    private static func plainLabelByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
