import CollectorCore
import OTLPCodec
import Transport

/// Serves OTLP/HTTP: `POST /v1/traces`, `/v1/logs` and `/v1/metrics` with protobuf or JSON bodies, optionally
/// gzip-compressed. Answers in the request's encoding; errors carry a `google.rpc.Status` body
/// as the OTLP/HTTP spec asks, with 400 (bad request), 413, 415, 503 + Retry-After (full),
/// 404 and 405.
struct OTLPHTTPHandler: Sendable {
    let ingest: OTLPIngest
    let settings: OTLPSettings.HTTP
    /// Requests without an accepted `Authorization` get 401 (nil: no auth).
    var auth: ListenerAuth?

    enum Encoding { case protobuf, json }

    /// Answers `request`. Requests refused before reaching the pipeline are counted as rejected
    /// (an exporter's permanent failure, also a 400, is not: the exporter counts it).
    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let ingest = self.ingest
        if let challenge = auth?.refusal(authorization: request.headers["authorization"]) {
            ingest.rejected(code: "401", transport: "http")
            var response = Self.plain(401, "401 unauthorized: missing or invalid authorization")
            response.headers.append(("WWW-Authenticate", challenge))
            return respond(response)
        }
        serve(request) { response, beforePipeline in
            if beforePipeline && (400..<500).contains(response.status) {
                ingest.rejected(code: String(response.status), transport: "http")
            }
            respond(response)
        }
    }

    private func serve(_ request: HTTPRequest, respond answer: @escaping @Sendable (HTTPResponse, Bool) -> Void) {
        let respond: @Sendable (HTTPResponse) -> Void = { answer($0, true) }
        let signal: Signal
        switch request.path {
        case settings.tracesURLPath: signal = .traces
        case settings.logsURLPath: signal = .logs
        case settings.metricsURLPath: signal = .metrics
        default:
            return respond(Self.plain(404, "404 page not found"))
        }
        guard request.method == "POST" else {
            var r = Self.plain(405, "405 method not allowed, supported: [POST]")
            r.headers.append(("Allow", "POST"))
            return respond(r)
        }
        let contentType = (request.headers["content-type"] ?? "").split(separator: ";").first
            .map { $0.trimmingCharacters(in: " ").lowercased() } ?? ""
        let encoding: Encoding
        switch contentType {
        case "application/x-protobuf", "application/protobuf": encoding = .protobuf
        case "application/json": encoding = .json
        default:
            return respond(Self.plain(415, "415 unsupported media type, supported: [application/json, application/x-protobuf]"))
        }
        guard ingest.hasConsumer(for: signal) else {
            return respond(Self.plain(404, "404 page not found: the receiver is not in a \(signal) pipeline"))
        }
        var body = request.body
        switch (request.headers["content-encoding"] ?? "identity").lowercased() {
        case "", "identity": break
        case "gzip":
            do {
                body = try Gzip.decompress(body, limit: settings.maxRequestBodySize)
            } catch where error.isTooLarge {
                return respond(Self.status(413, code: 8, "request body larger than \(settings.maxRequestBodySize) bytes after decompression", encoding))
            } catch {
                return respond(Self.status(400, code: 3, "invalid gzip body: \(error)", encoding))
            }
        case let other:
            return respond(Self.status(400, code: 3, "unsupported Content-Encoding \"\(other)\"", encoding))
        }
        let protobuf: [UInt8]
        if encoding == .json {
            do {
                protobuf = try OTLPJSON.decode(OTLPSignal(signal), json: body)
            } catch {
                return respond(Self.status(400, code: 3, "\(error)", encoding))
            }
        } else {
            protobuf = body
        }
        ingest.ingest(signal, protobuf: protobuf, transport: "http", peer: request.remoteAddress) { outcome in
            let beforePipeline: Bool
            switch outcome {
            case .invalid, .unsupported, .tooLarge: beforePipeline = true
            case .success, .failed: beforePipeline = false
            }
            answer(Self.response(for: outcome, signal: signal, encoding: encoding), beforePipeline)
        }
    }

    static func response(for outcome: OTLPIngest.Outcome, signal: Signal, encoding: Encoding) -> HTTPResponse {
        switch outcome {
        case .success:
            let otlpSignal = OTLPSignal(signal)
            let proto = OTLPResponse.encode(otlpSignal, rejected: 0, errorMessage: nil)
            if encoding == .json {
                // The JSON form of an empty Export*ServiceResponse (nothing rejected).
                return HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
            }
            return HTTPResponse(status: 200, headers: [("Content-Type", "application/x-protobuf")], body: proto)
        case .invalid(let reason):
            return status(400, code: 3, reason, encoding)
        case .tooLarge(let reason):
            return status(413, code: 8, reason, encoding)
        case .unsupported(let reason):
            return status(404, code: 12, reason, encoding)
        case .failed(let error):
            guard error.isRetryable else { return status(400, code: 3, error.message, encoding) }
            var r = status(503, code: 14, error.message, encoding)
            r.headers.append(("Retry-After", String(error.retryAfterSeconds ?? 1)))
            return r
        }
    }

    /// An error response whose body is a `google.rpc.Status` in the request's encoding.
    static func status(_ http: Int, code: Int, _ message: String, _ encoding: Encoding) -> HTTPResponse {
        switch encoding {
        case .json:
            let body = "{\"code\":\(code),\"message\":\(JSONText.quote(message))}"
            return HTTPResponse(status: http, headers: [("Content-Type", "application/json")], body: Array(body.utf8))
        case .protobuf:
            var body: [UInt8] = [0x08]
            ProtoBytes.appendVarint(UInt64(code), to: &body)
            let text = Array(message.utf8)
            body.append(0x12)
            ProtoBytes.appendVarint(UInt64(text.count), to: &body)
            body += text
            return HTTPResponse(status: http, headers: [("Content-Type", "application/x-protobuf")], body: body)
        }
    }

    static func plain(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Array((text + "\n").utf8))
    }
}

enum ProtoBytes {
    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }
}


extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        var s = self
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
