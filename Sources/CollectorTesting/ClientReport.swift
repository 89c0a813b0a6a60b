/// The JSON document `send_traces.py` and `send_logs.py` print: exactly what they exported,
/// decoded from the protobuf the SDK encoded. Decode it with
/// `try PythonClient.run(...).decode(ClientReport.self)`.
///
/// Ids are lower-case hex ("" when absent); times are ns since the epoch; enums carry the OTLP
/// wire value (`kind`, `status.code`, `severityNumber`) plus its OTLP name.
public struct ClientReport: Decodable, Sendable {
    /// Every export request succeeded and everything created was exported.
    public let ok: Bool
    /// "traces" or "logs".
    public let signal: String
    /// "grpc" or "http".
    public let `protocol`: String
    /// The endpoint the exporter was given (full URL for HTTP).
    public let endpoint: String
    public let errors: [String]
    /// WARNING/ERROR lines the SDK logged (transient errors and retries show up here).
    public let sdkLog: [String]
    /// One entry per export request, in order.
    public let exports: [Export]
    /// The first (with these scripts: the only) resource and scope.
    public let resource: Resource?
    public let scope: Scope?
    public let resources: [Resource]
    public let scopes: [Scope]
    /// Number of spans or log records.
    public let count: Int
    public let traceIds: [String]
    /// Present for signal "traces".
    public let spans: [Span]?
    /// Present for signal "logs".
    public let logRecords: [LogRecord]?
    public let service: String?
    public let seed: Int?

    public struct Export: Decodable, Sendable {
        public let items: Int
        public let bytes: Int
        /// "SUCCESS", "FAILURE" or "SKIPPED" (not sent after an earlier failure).
        public let result: String
        public let seconds: Double
        public let error: String?
    }

    public struct Resource: Decodable, Sendable, Equatable {
        public let attributes: [Attribute]
        public let droppedAttributesCount: Int
        public let schemaUrl: String

        public func attribute(_ key: String) -> Value? { attributes.first { $0.key == key }?.value }
    }

    public struct Scope: Decodable, Sendable, Equatable {
        public let name: String
        public let version: String
        public let attributes: [Attribute]
        public let droppedAttributesCount: Int
        public let schemaUrl: String
    }

    public struct Status: Decodable, Sendable, Equatable {
        /// 0 unset, 1 ok, 2 error.
        public let code: Int
        public let codeName: String
        public let message: String
    }

    public struct Event: Decodable, Sendable, Equatable {
        public let name: String
        public let timeUnixNano: UInt64
        public let attributes: [Attribute]
        public let droppedAttributesCount: Int
    }

    public struct Link: Decodable, Sendable, Equatable {
        public let traceId: String
        public let spanId: String
        public let traceState: String
        public let flags: UInt32
        public let attributes: [Attribute]
        public let droppedAttributesCount: Int
    }

    public struct Span: Decodable, Sendable, Equatable {
        public let traceId: String
        public let spanId: String
        /// "" for a root span.
        public let parentSpanId: String
        public let traceState: String
        public let flags: UInt32
        public let name: String
        /// OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer.
        public let kind: Int
        /// e.g. "SPAN_KIND_SERVER".
        public let kindName: String
        public let startTimeUnixNano: UInt64
        public let endTimeUnixNano: UInt64
        public let status: Status
        public let attributes: [Attribute]
        public let droppedAttributesCount: Int
        public let events: [Event]
        public let droppedEventsCount: Int
        public let links: [Link]
        public let droppedLinksCount: Int
        public let resourceIndex: Int
        public let scopeIndex: Int
        public let exportIndex: Int

        public func attribute(_ key: String) -> Value? { attributes.first { $0.key == key }?.value }
    }

    public struct LogRecord: Decodable, Sendable, Equatable {
        public let timeUnixNano: UInt64
        public let observedTimeUnixNano: UInt64
        /// OTLP SeverityNumber (INFO = 9, WARN = 13, ERROR = 17, DEBUG = 5).
        public let severityNumber: Int
        public let severityText: String
        public let body: Value
        public let attributes: [Attribute]
        public let droppedAttributesCount: Int
        public let flags: UInt32
        /// "" when the record has no trace context.
        public let traceId: String
        public let spanId: String
        public let eventName: String
        public let resourceIndex: Int
        public let scopeIndex: Int
        public let exportIndex: Int

        public func attribute(_ key: String) -> Value? { attributes.first { $0.key == key }?.value }
    }

    /// An OTLP AnyValue, as `{"type": ..., "value": ...}`.
    public indirect enum Value: Decodable, Sendable, Equatable, CustomStringConvertible {
        case string(String)
        case bool(Bool)
        case int(Int64)
        case double(Double)
        /// Lower-case hex.
        case bytes(String)
        case array([Value])
        case kvlist([Attribute])
        case empty

        private enum CodingKeys: String, CodingKey { case type, value }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let type = try c.decode(String.self, forKey: .type)
            switch type {
            case "string": self = .string(try c.decode(String.self, forKey: .value))
            case "bool": self = .bool(try c.decode(Bool.self, forKey: .value))
            case "int": self = .int(try c.decode(Int64.self, forKey: .value))
            case "double": self = .double(try c.decode(Double.self, forKey: .value))
            case "bytes": self = .bytes(try c.decode(String.self, forKey: .value))
            case "array": self = .array(try c.decode([Value].self, forKey: .value))
            case "kvlist": self = .kvlist(try c.decode([Attribute].self, forKey: .value))
            case "empty": self = .empty
            default:
                throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "unknown type \(type)")
            }
        }

        public var description: String {
            switch self {
            case .string(let s): return "\"\(s)\""
            case .bool(let b): return String(b)
            case .int(let i): return String(i)
            case .double(let d): return String(d)
            case .bytes(let h): return "0x\(h)"
            case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
            case .kvlist(let kv): return "{" + kv.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
            case .empty: return "<empty>"
            }
        }
    }

    /// A key and its value (decoded from the flat `{"key": k, "type": t, "value": v}`).
    public struct Attribute: Decodable, Sendable, Equatable {
        public let key: String
        public let value: Value

        private enum CodingKeys: String, CodingKey { case key }

        public init(key: String, value: Value) {
            self.key = key
            self.value = value
        }

        public init(from decoder: any Decoder) throws {
            key = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .key)
            value = try Value(from: decoder)
        }
    }
}

/// What `raw_grpc.py` prints.
public struct RawGRPCReport: Decodable, Sendable {
    public let ok: Bool
    public let target: String
    public let method: String
    public let payload: String
    public let requestBytes: Int
    public let compression: String
    /// grpcio's status name, e.g. "OK", "INVALID_ARGUMENT", "RESOURCE_EXHAUSTED", "UNAVAILABLE".
    public let code: String
    public let codeValue: Int
    public let details: String?
    public let responseBytes: Int?
    public let responseHex: String?
    public let initialMetadata: [String: String]
    public let trailingMetadata: [String: String]
    public let seconds: Double
}

/// What `raw_grpc.py --calls N` (flood mode) prints.
public struct RawGRPCFloodReport: Decodable, Sendable {
    /// Every call answered OK.
    public let ok: Bool
    public let target: String
    public let method: String
    public let payload: String
    public let requestBytes: Int
    public let compression: String
    /// Calls made (answered or failed).
    public let calls: Int
    public let concurrency: Int
    /// Calls by grpcio status name, e.g. ["OK": 70, "UNAVAILABLE": 32].
    public let codes: [String: Int]
    /// The details of the first answer with each status.
    public let details: [String: String]
    public let seconds: Double

    public func count(_ code: String) -> Int { codes[code] ?? 0 }
}

/// What `send_json.py` prints (the request itself is in `CommandResult.jsonObject()["request"]`).
public struct JSONPostReport: Decodable, Sendable {
    public let ok: Bool
    public let url: String
    public let signal: String
    public let gzip: Bool
    public let requestBytes: Int
    public let bodyBytes: Int
    /// nil when no HTTP answer came (see `error`).
    public let status: Int?
    public let responseHeaders: [String: String]
    public let responseBody: String
    public let error: String?
    /// The request read back from its JSON (by the OTLP JSON mapping, not by a protobuf library)
    /// in `ClientReport` form, for `DebugMatch`.
    public let report: ClientReport
}

/// A `google.rpc.Status` (what OTLP/HTTP error bodies carry): `code` and `message` read from
/// its protobuf encoding (fields 1 and 2; details are skipped).
public struct RPCStatus: Sendable, Equatable {
    public let code: Int
    public let message: String

    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    /// nil when `bytes` is not a well-formed Status.
    public init?(protobuf bytes: [UInt8]) {
        var code = 0
        var message = ""
        var i = 0
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while i < bytes.count, shift < 64 {
                let b = bytes[i]
                i += 1
                value |= UInt64(b & 0x7f) << shift
                if b & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        while i < bytes.count {
            guard let key = varint() else { return nil }
            switch (key >> 3, key & 7) {
            case (1, 0):
                guard let v = varint() else { return nil }
                code = Int(truncatingIfNeeded: v)
            case (_, 0):
                guard varint() != nil else { return nil }
            case (let field, 2):
                guard let n = varint(), n <= UInt64(bytes.count - i) else { return nil }
                if field == 2 { message = String(decoding: bytes[i..<i + Int(n)], as: UTF8.self) }
                i += Int(n)
            default:
                return nil
            }
        }
        self.code = code
        self.message = message
    }
}
