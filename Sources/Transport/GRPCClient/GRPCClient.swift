import Dispatch

/// Message compression for gRPC requests (`grpc-encoding`).
public enum GRPCCompression: String, Sendable, CaseIterable {
    case none = "identity"
    case gzip
    /// The name gRPC implementations and the OTel Collector use for their zstd compressor.
    case zstd
}

/// Unary gRPC calls over an ``HTTP2Client`` (one connection, many concurrent calls).
///
/// A call sends HEADERS (`content-type: application/grpc`, `te: trailers`, `grpc-timeout` from
/// the timeout, `grpc-encoding` when compressed, the caller's metadata) and one length-prefixed
/// message, then reads the answer: a normal response (HEADERS, one message, trailers with
/// `grpc-status`) or a trailers-only one (one HEADERS frame with `grpc-status`). The result is
/// the response message, or a ``GRPCCallError`` with the status, the decoded `grpc-message`,
/// `grpc-status-details-bin` (RetryInfo) and the retry meaning OTLP gives the status. An HTTP
/// status other than 200 is mapped as gRPC does (503 -> UNAVAILABLE), and HTTP/2 failures as
/// gRPC clients report them (see ``GRPCCallError``). Responses may be gzip or zstd compressed.
///
/// Stateless over its HTTP/2 client; thread-safe.
public final class GRPCClient: Sendable {
    public typealias Completion = @Sendable (Result<[UInt8], GRPCCallError>) -> Void

    /// gRPC's default limit for a received message: 4 MiB.
    public static let defaultMaxResponseMessageBytes = 4 << 20

    public let http2: HTTP2Client
    public let maxResponseMessageBytes: Int
    private let userAgent: String

    /// A client for `configuration`'s endpoint; the HTTP/2 response bound is set from
    /// `maxResponseMessageBytes` (one framed message).
    /// - Throws: ``HTTP2ClientError`` of kind `invalidConfiguration` (TLS files, port).
    public init(configuration: HTTP2ClientConfiguration, maxResponseMessageBytes: Int = GRPCClient.defaultMaxResponseMessageBytes,
                userAgent: String = "collectord-grpc") throws(HTTP2ClientError) {
        var configuration = configuration
        configuration.maxResponseBytes = maxResponseMessageBytes + GRPCFraming.prefixBytes
        http2 = try HTTP2Client(configuration: configuration)
        self.maxResponseMessageBytes = maxResponseMessageBytes
        self.userAgent = userAgent
    }

    /// Calls `path` (`/package.Service/Method`) with one serialized `message`.
    /// - Parameters:
    ///   - metadata: extra request headers (names are sent in lower case).
    ///   - timeoutNanos: the call's deadline from now; sent as `grpc-timeout`, and the stream is
    ///     reset with CANCEL when it passes (DEADLINE_EXCEEDED).
    public func call(path: String, message: [UInt8], metadata: HTTPHeaders = [:], compression: GRPCCompression = .none,
                     timeoutNanos: UInt64? = nil, completion: @escaping Completion) {
        var headers: HTTPHeaders = [
            "content-type": GRPCFraming.contentType, "te": "trailers", "user-agent": userAgent,
            "grpc-accept-encoding": "gzip,zstd",
        ]
        if let timeoutNanos { headers.add(name: "grpc-timeout", value: Self.timeoutHeader(nanos: timeoutNanos)) }
        let body: [UInt8]
        switch compression {
        case .none:
            body = GRPCFraming.frame(message)
        case .gzip:
            headers.add(name: "grpc-encoding", value: "gzip")
            body = GRPCFraming.frame(Gzip.compress(message), compressed: true)
        case .zstd:
            headers.add(name: "grpc-encoding", value: "zstd")
            body = GRPCFraming.frame(ZstdCodec.compress(message), compressed: true)
        }
        for field in metadata { headers.add(name: field.name.asciiLowercased, value: field.value) }
        let deadline = timeoutNanos.map { DispatchTime.now() + .nanoseconds(Int(clamping: $0)) }
        let limit = maxResponseMessageBytes
        http2.send(HTTP2ClientRequest(method: "POST", path: path, headers: headers, body: body), deadline: deadline) { result in
            switch result {
            case .failure(let error): completion(.failure(GRPCCallError(error)))
            case .success(let response): completion(Self.interpret(response, limit: limit))
            }
        }
    }

    /// Async form of ``call(path:message:metadata:compression:timeoutNanos:completion:)``.
    public func call(path: String, message: [UInt8], metadata: HTTPHeaders = [:], compression: GRPCCompression = .none,
                     timeout: Duration? = nil) async throws(GRPCCallError) -> [UInt8] {
        let nanos = timeout.map { Self.nanoseconds($0) }
        let result = await withCheckedContinuation { continuation in
            call(path: path, message: message, metadata: metadata, compression: compression, timeoutNanos: nanos) {
                continuation.resume(returning: $0)
            }
        }
        return try result.get()
    }

    /// Clean shutdown of the HTTP/2 client (calls in flight may finish until `deadline`).
    public func shutdown(deadline: DispatchTime) async {
        await http2.shutdown(deadline: deadline)
    }

    // MARK: - Response

    /// The message of a complete HTTP/2 response, or the call's error.
    static func interpret(_ response: HTTPResponse, limit: Int) -> Result<[UInt8], GRPCCallError> {
        guard response.status == 200 else {
            let status = GRPCCallError.status(forHTTPStatus: response.status)
            let text = String(decoding: response.body.prefix(200), as: UTF8.self)
            return .failure(GRPCCallError(status: status, message: "HTTP status \(response.status)" + (text.isEmpty ? "" : ": \(text)")))
        }
        guard GRPCFraming.isGRPCContentType(response.headers["content-type"]) else {
            return .failure(GRPCCallError(status: .unknown,
                                          message: "unexpected content-type \"\(response.headers["content-type"] ?? "")\""))
        }
        // Trailers-only responses carry the status in the headers.
        let fields = response.trailers.contains("grpc-status") ? response.trailers : response.headers
        guard let text = fields["grpc-status"] else {
            return .failure(GRPCCallError(status: .internal, message: "server closed the stream without grpc-status"))
        }
        guard let code = Int(text).flatMap(GRPCStatusCode.init(rawValue:)) else {
            return .failure(GRPCCallError(status: .unknown, message: "invalid grpc-status \"\(text)\""))
        }
        guard code == .ok else {
            let message = fields["grpc-message"].map(GRPCFraming.percentDecode) ?? ""
            let details = fields["grpc-status-details-bin"].flatMap { GRPCStatusDetails(headerValue: $0) }
            return .failure(GRPCCallError(status: code, message: message, details: details))
        }
        return message(of: response, limit: limit)
    }

    /// The single response message, decompressed.
    private static func message(of response: HTTPResponse, limit: Int) -> Result<[UInt8], GRPCCallError> {
        let body = response.body
        guard body.count >= GRPCFraming.prefixBytes else {
            return .failure(GRPCCallError(status: .internal, message: body.isEmpty
                ? "no response message from a unary call" : "truncated message prefix (\(body.count) bytes)"))
        }
        let length = GRPCFraming.declaredLength(body)
        guard body.count - GRPCFraming.prefixBytes == length else {
            return .failure(GRPCCallError(status: .internal, message: body.count - GRPCFraming.prefixBytes < length
                ? "truncated response message" : "more than one response message from a unary call"))
        }
        let payload = body[GRPCFraming.prefixBytes...]
        guard body[0] == 1 else {
            return length > limit
                ? .failure(GRPCCallError(status: .resourceExhausted, message: "received message larger than max (\(length) vs. \(limit))"))
                : .success(Array(payload))
        }
        let encoding = response.headers["grpc-encoding"]?.asciiLowercased ?? "identity"
        do {
            switch encoding {
            case "gzip": return .success(try Gzip.decompress(payload, limit: limit))
            case "zstd": return .success(try ZstdCodec.decompress(payload, limit: limit))
            default:
                return .failure(GRPCCallError(status: .internal, message: "compressed response with unsupported grpc-encoding \"\(encoding)\""))
            }
        } catch where error.isTooLarge {
            return .failure(GRPCCallError(status: .resourceExhausted, message: "received message after decompression larger than max (\(limit))"))
        } catch {
            return .failure(GRPCCallError(status: .internal, message: "failed to decompress the response: \(error)"))
        }
    }

    // MARK: - Timeouts

    /// `grpc-timeout`: at most 8 digits and a unit (n, u, m, S, M, H), rounded up so the server
    /// never sees a shorter deadline than ours.
    static func timeoutHeader(nanos: UInt64) -> String {
        let units: [(UInt64, Character)] = [(1, "n"), (1_000, "u"), (1_000_000, "m"), (1_000_000_000, "S"),
                                            (60_000_000_000, "M"), (3_600_000_000_000, "H")]
        for (size, unit) in units {
            let value = nanos / size + (nanos % size == 0 ? 0 : 1)
            if value <= 99_999_999 { return "\(value)\(unit)" }
        }
        return "99999999H"
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole &+ UInt64(attoseconds / 1_000_000_000)
    }
}
