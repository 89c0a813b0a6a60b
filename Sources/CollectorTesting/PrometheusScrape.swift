/// A parsed Prometheus text exposition (what `/metrics` serves), for assertions like
/// `scrape.value("otelcol_receiver_accepted_spans_total", labels: ["receiver": "otlp"]) == 12`.
public struct PrometheusScrape: Sendable {
    public struct Sample: Sendable, Equatable {
        public let name: String
        public let labels: [String: String]
        public let value: Double
    }

    public let samples: [Sample]
    /// `# TYPE` lines: metric name -> type ("counter", "gauge", "histogram", ...).
    public let types: [String: String]
    /// Lines that could not be parsed (should stay empty).
    public let invalidLines: [String]

    public init(_ text: String) {
        var samples: [Sample] = []
        var types: [String: String] = [:]
        var invalid: [String] = []
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                if parts.count >= 4, parts[1] == "TYPE" { types[String(parts[2])] = String(parts[3]) }
                continue
            }
            if let sample = Self.parseSample(line) { samples.append(sample) } else { invalid.append(line) }
        }
        self.samples = samples
        self.types = types
        self.invalidLines = invalid
    }

    /// Samples named `name` whose labels include all of `labels`.
    public func matching(_ name: String, labels: [String: String] = [:]) -> [Sample] {
        samples.filter { s in s.name == name && labels.allSatisfy { s.labels[$0.key] == $0.value } }
    }

    /// The value of the first matching sample, or nil.
    public func value(_ name: String, labels: [String: String] = [:]) -> Double? {
        matching(name, labels: labels).first?.value
    }

    /// The sum over all matching samples (0 when none match).
    public func sum(_ name: String, labels: [String: String] = [:]) -> Double {
        matching(name, labels: labels).reduce(0) { $0 + $1.value }
    }

    /// Metric names present.
    public var names: Set<String> { Set(samples.map(\.name)) }

    static func parseSample(_ line: String) -> Sample? {
        var chars = Array(line.unicodeScalars)[...]
        var name = ""
        while let c = chars.first, c != "{", c != " ", c != "\t" {
            name.unicodeScalars.append(c)
            chars = chars.dropFirst()
        }
        guard !name.isEmpty else { return nil }
        var labels: [String: String] = [:]
        if chars.first == "{" {
            chars = chars.dropFirst()
            while true {
                while let c = chars.first, c == " " || c == "," { chars = chars.dropFirst() }
                guard let c = chars.first else { return nil }
                if c == "}" { chars = chars.dropFirst(); break }
                var key = ""
                while let k = chars.first, k != "=" {
                    key.unicodeScalars.append(k)
                    chars = chars.dropFirst()
                }
                guard chars.first == "=" else { return nil }
                chars = chars.dropFirst()
                guard chars.first == "\"" else { return nil }
                chars = chars.dropFirst()
                var value = ""
                var closed = false
                while let v = chars.first {
                    chars = chars.dropFirst()
                    if v == "\\" {
                        guard let escaped = chars.first else { return nil }
                        chars = chars.dropFirst()
                        switch escaped {
                        case "n": value += "\n"
                        case "\\": value += "\\"
                        case "\"": value += "\""
                        default: value.unicodeScalars.append("\\"); value.unicodeScalars.append(escaped)
                        }
                    } else if v == "\"" {
                        closed = true
                        break
                    } else {
                        value.unicodeScalars.append(v)
                    }
                }
                guard closed else { return nil }
                labels[key.trimmingCharacters(in: .whitespaces)] = value
            }
        }
        let rest = String(String.UnicodeScalarView(chars)).split(separator: " ", omittingEmptySubsequences: true)
        guard let first = rest.first else { return nil }
        let valueText = String(first)
        let value: Double?
        switch valueText {
        case "+Inf", "Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default: value = Double(valueText)
        }
        guard let value else { return nil }
        return Sample(name: name, labels: labels, value: value)
    }
}
