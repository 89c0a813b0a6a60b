import FoundationEssentials
import HTTPClient
import OTLPCodec

/// The query API calls the CLI makes, with their answers mapped to data or `CLIError`.
struct QueryClient {
    var http: QueryHTTP

    static let protobuf = "application/protobuf"

    /// A stored trace: its spans (`/api/traces/{id}`, OTLP protobuf) and log records
    /// (`/api/traces/{id}/logs`); nil parts were not found (404).
    struct StoredTrace {
        var spans: [UInt8]?
        var logs: [UInt8]?
    }

    /// Fetches trace `id` (32 hex digits). Throws `.notFound` when neither spans nor log
    /// records are stored for it.
    func trace(_ id: String) throws(CLIError) -> StoredTrace {
        let spans = try fetch("/api/traces/\(id)", what: "trace \(id)")
        let logs = try fetch("/api/traces/\(id)/logs", what: "logs of trace \(id)")
        guard spans != nil || logs != nil else {
            throw CLIError(.notFound, "trace \(id) not found at \(http.server)")
        }
        return StoredTrace(spans: spans, logs: logs)
    }

    private func fetch(_ path: String, what: String) throws(CLIError) -> [UInt8]? {
        let response = try http.get(path, accept: Self.protobuf)
        switch response.status {
        case 200: return response.body
        case 404:
            // The query API says which trace it could not find; any other 404 is another
            // server (an OTLP or health_check port, a proxy) and must not read as "not found".
            guard Self.reason(response.text).contains("trace not found") else {
                throw CLIError(.server, "\(http.server) is not a collectord query endpoint: \(path) answered 404"
                               + (response.text.isEmpty ? "" : " (\(Self.reason(response.text)))"))
            }
            return nil
        default: throw Self.failure(response, what)
        }
    }

    /// `/api/search` with `parameters` (already validated): the decoded answer and its JSON.
    func search(_ parameters: [(String, String)]) throws(CLIError) -> (results: SearchResults, json: [UInt8]) {
        let query = parameters.map { Self.percentEncode($0.0) + "=" + Self.percentEncode($0.1) }.joined(separator: "&")
        let response = try http.get("/api/search" + (query.isEmpty ? "" : "?" + query), accept: "application/json")
        guard response.status == 200 else { throw Self.failure(response, "search") }
        do {
            return (try JSONDecoder().decode(SearchResults.self, from: Data(response.body)), response.body)
        } catch {
            throw CLIError(.server, "\(http.server) answered the search with unexpected JSON: \(error)")
        }
    }

    /// `/api/collectord/v1/sli`: the service's requests, errors and slow requests per window.
    func sli(service: String, latencyNanos: UInt64, end: UInt64, windows: [UInt64]) throws(CLIError) -> SLICounts {
        let query = [("service", service), ("latency", String(latencyNanos)), ("end", String(end)),
                     ("windows", windows.map(String.init).joined(separator: ","))]
            .map { Self.percentEncode($0.0) + "=" + Self.percentEncode($0.1) }.joined(separator: "&")
        let response = try http.get("/api/collectord/v1/sli?" + query, accept: "application/json")
        guard response.status == 200 else { throw Self.failure(response, "sli") }
        do {
            return try JSONDecoder().decode(SLICounts.self, from: Data(response.body))
        } catch {
            throw CLIError(.server, "\(http.server) answered /api/collectord/v1/sli with unexpected JSON: \(error)")
        }
    }

    /// 400: the server refused our input; anything else: a server failure.
    static func failure(_ response: HTTPResponse, _ what: String) -> CLIError {
        let reason = Self.reason(response.text)
        if response.status == 400 { return CLIError(.invalidInput, "\(what): the server refused the request: \(reason)") }
        return CLIError(.server, "\(what): the server answered \(response.status)" + (reason.isEmpty ? "" : ": \(reason)"))
    }

    /// The message of an error body: Jaeger's `errors[0].msg`, else the first line of text.
    static func reason(_ body: String) -> String {
        struct JaegerError: Decodable {
            struct Item: Decodable { var msg: String }
            var errors: [Item]?
        }
        if let decoded = try? JSONDecoder().decode(JaegerError.self, from: Data(body.utf8)), let first = decoded.errors?.first {
            return first.msg
        }
        return TextFormat.truncate(body.split(separator: "\n").first.map(String.init) ?? "", 200)
    }

    /// Percent-encodes a query component: everything but `A-Z a-z 0-9 - . _ ~`.
    static func percentEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(digits[Int(byte >> 4)])
                out.unicodeScalars.append(digits[Int(byte & 15)])
            }
        }
        return out
    }

    /// OTLP/JSON of stored protobuf (`OTLPJSON.encode`); `.server` when it does not decode.
    static func json(_ signal: OTLPSignal, _ protobuf: [UInt8]) throws(CLIError) -> [UInt8] {
        do throws(OTLPDecodeError) {
            return try OTLPJSON.encode(signal, protobuf: protobuf)
        } catch {
            throw CLIError(.server, "the server sent an invalid \(signal.requestMessageName): \(error)")
        }
    }

    /// Decodes OTLP/JSON for the tree.
    static func document(_ json: [UInt8]) throws(CLIError) -> OTLPDocument {
        do {
            return try JSONDecoder().decode(OTLPDocument.self, from: Data(json))
        } catch {
            throw CLIError(.server, "cannot read the trace's OTLP/JSON: \(error)")
        }
    }
}
