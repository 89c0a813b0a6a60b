/// The parts of OTLP/JSON (`ExportTraceServiceRequest` / `ExportLogsServiceRequest`, as
/// `OTLPJSON.encode` writes them) that the tree shows. Unknown fields are ignored; every field
/// may be absent (proto3 JSON omits defaults).
struct OTLPDocument: Decodable {
    var resourceSpans: [ResourceSpans]?
    var resourceLogs: [ResourceLogs]?

    struct ResourceSpans: Decodable {
        var resource: Resource?
        var scopeSpans: [ScopeSpans]?
    }

    struct ResourceLogs: Decodable {
        var resource: Resource?
        var scopeLogs: [ScopeLogs]?
    }

    struct Resource: Decodable {
        var attributes: [KeyValue]?
    }

    struct ScopeSpans: Decodable {
        var spans: [Span]?
    }

    struct ScopeLogs: Decodable {
        var logRecords: [LogRecord]?
    }

    struct Span: Decodable {
        var traceId: String?
        var spanId: String?
        var parentSpanId: String?
        var name: String?
        var kind: Int?
        var startTimeUnixNano: String?
        var endTimeUnixNano: String?
        var attributes: [KeyValue]?
        var events: [Event]?
        var status: Status?
    }

    struct Event: Decodable {
        var timeUnixNano: String?
        var name: String?
        var attributes: [KeyValue]?
    }

    struct Status: Decodable {
        var message: String?
        var code: Int?
    }

    struct LogRecord: Decodable {
        var timeUnixNano: String?
        var observedTimeUnixNano: String?
        var severityNumber: Int?
        var severityText: String?
        var body: AnyValue?
        var attributes: [KeyValue]?
        var spanId: String?
        var eventName: String?
    }

    struct KeyValue: Decodable {
        var key: String
        var value: AnyValue?
    }

    /// An OTLP `AnyValue`. 64-bit integers arrive as strings (or numbers), doubles as numbers
    /// or `"NaN"`/`"Infinity"`, bytes as base64.
    indirect enum AnyValue: Decodable, Equatable {
        case string(String)
        case bool(Bool)
        case int(Int64)
        case double(Double)
        case bytes(String)
        case array([AnyValue])
        case map([Entry])
        case empty

        struct Entry: Decodable, Equatable {
            var key: String
            var value: AnyValue?
        }

        private enum Keys: String, CodingKey {
            case stringValue, boolValue, intValue, doubleValue, bytesValue, arrayValue, kvlistValue
        }

        private struct List<Element: Decodable>: Decodable {
            var values: [Element]?
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            if let s = try c.decodeIfPresent(String.self, forKey: .stringValue) {
                self = .string(s)
            } else if let b = try c.decodeIfPresent(Bool.self, forKey: .boolValue) {
                self = .bool(b)
            } else if c.contains(.intValue) {
                if let text = try? c.decode(String.self, forKey: .intValue), let n = Int64(text) {
                    self = .int(n)
                } else {
                    self = .int(try c.decode(Int64.self, forKey: .intValue))
                }
            } else if c.contains(.doubleValue) {
                if let text = try? c.decode(String.self, forKey: .doubleValue) {
                    self = .double(Double(text == "Infinity" ? "inf" : text == "-Infinity" ? "-inf" : text) ?? .nan)
                } else {
                    self = .double(try c.decode(Double.self, forKey: .doubleValue))
                }
            } else if let bytes = try c.decodeIfPresent(String.self, forKey: .bytesValue) {
                self = .bytes(bytes)
            } else if let list = try c.decodeIfPresent(List<AnyValue>.self, forKey: .arrayValue) {
                self = .array(list.values ?? [])
            } else if let list = try c.decodeIfPresent(List<Entry>.self, forKey: .kvlistValue) {
                self = .map(list.values ?? [])
            } else {
                self = .empty
            }
        }

        /// The value as the tree prints it: strings as they are, arrays and maps in JSON-like
        /// form (`[a, 1]`, `{k: v}`).
        var text: String {
            switch self {
            case .string(let s): s
            case .bool(let b): b ? "true" : "false"
            case .int(let n): String(n)
            case .double(let d): d.isNaN ? "NaN" : d.isInfinite ? (d < 0 ? "-Infinity" : "Infinity") : TextFormat.number(d)
            case .bytes(let b): "base64:" + b
            case .array(let values): "[" + values.map(\.text).joined(separator: ", ") + "]"
            case .map(let entries): "{" + entries.map { "\($0.key): \($0.value?.text ?? "")" }.joined(separator: ", ") + "}"
            case .empty: ""
            }
        }
    }
}
