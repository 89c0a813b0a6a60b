import Synchronization

/// Turns HTTP/2 requests into unary gRPC calls and gRPC answers into HTTP/2 responses.
///
/// Admission: HTTP/2 only (505 otherwise), `POST` only (405), `content-type: application/grpc*`
/// (415). While the body arrives, the declared message length is checked against
/// `maxMessageBytes` as soon as the 5-byte prefix is in (RESOURCE_EXHAUSTED, for that stream
/// only). When complete: exactly one message (INTERNAL otherwise); a compressed message is
/// inflated when `grpc-encoding` is gzip or zstd (bounded by `maxMessageBytes`), answered with
/// UNIMPLEMENTED for an unknown encoding and INTERNAL for a compressed flag without one.
/// Thread-safe.
final class GRPCRouter: RequestRouter {
    private struct Config {
        var handler: GRPCHandler
        var maxMessageBytes: Int
        var headerLimits: HTTPServerLimits
        var observer: RefusalObserver?
    }

    private let config: Mutex<Config>

    init(maxMessageBytes: Int, headerLimits: HTTPServerLimits, handler: @escaping GRPCHandler) {
        config = Mutex(Config(handler: handler, maxMessageBytes: maxMessageBytes, headerLimits: headerLimits))
    }

    var limits: HTTPServerLimits {
        config.withLock { config in
            var limits = config.headerLimits
            limits.maxBodyBytes = config.maxMessageBytes + GRPCFraming.prefixBytes
            return limits
        }
    }

    var maxMessageBytes: Int { config.withLock { $0.maxMessageBytes } }

    func setHandler(_ handler: @escaping GRPCHandler) { config.withLock { $0.handler = handler } }

    func setMaxMessageBytes(_ bytes: Int) { config.withLock { $0.maxMessageBytes = bytes } }

    func setHeaderLimits(_ limits: HTTPServerLimits) { config.withLock { $0.headerLimits = limits } }

    func setRefusalObserver(_ observer: RefusalObserver?) {
        config.withLock { $0.observer = observer }
    }

    func refused(_ response: HTTPResponse) {
        config.withLock { $0.observer }?(RefusedRequest(response))
    }

    func admit(_ head: HTTPRequest) -> BodyAdmission {
        guard head.version == .http2 else {
            return .reject(.text(505, "gRPC requires HTTP/2\n"))
        }
        guard head.method == "POST" else {
            var response = HTTPResponse.text(405, "gRPC requires POST\n")
            response.headers.add(name: "allow", value: "POST")
            return .reject(response)
        }
        guard GRPCFraming.isGRPCContentType(head.headers["content-type"]) else {
            return .reject(.text(415, "invalid gRPC request content-type \"\(head.headers["content-type"] ?? "")\"\n"))
        }
        let max = maxMessageBytes
        return .accept(BodyPolicy(
            maxBytes: max + GRPCFraming.prefixBytes,
            overflow: GRPCFraming.errorResponse(.resourceExhausted, "grpc: received message larger than max (\(max))"),
            busy: GRPCFraming.errorResponse(.unavailable, "server busy: too many bytes held by unfinished requests; retry later"),
            inspect: { body in GRPCFraming.inspectUnary(body, max: max) },
            declaredBytes: { body in
                body.count >= GRPCFraming.prefixBytes ? GRPCFraming.prefixBytes + GRPCFraming.declaredLength(body) : nil
            }))
    }

    func dispatch(_ request: consuming HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let (handler, max) = config.withLock { ($0.handler, $0.maxMessageBytes) }
        // The body leaves the request so that its buffer is ours alone: an uncompressed message
        // is then cut out of it in place rather than copied.
        var body = request.body
        request.body = []
        switch Self.decodeMessage(body: &body, encoding: request.headers["grpc-encoding"], max: max) {
        case .failure(let error):
            let response = GRPCFraming.httpResponse(for: error.response)
            refused(response)
            respond(response)
        case .success(let message):
            let call = GRPCRequest(path: request.path, headers: request.headers, message: message,
                                   remoteAddress: request.remoteAddress)
            handler(call) { response in respond(GRPCFraming.httpResponse(for: response)) }
        }
    }

    /// The request's single message, decompressed.
    static func decodeMessage(_ request: HTTPRequest, max: Int) -> Result<[UInt8], GRPCErrorResponse> {
        var body = request.body
        return decodeMessage(body: &body, encoding: request.headers["grpc-encoding"], max: max)
    }

    /// The single message of a request `body` (consumed), decompressed per `encoding` (the
    /// `grpc-encoding` header). An uncompressed message is the body's own buffer with the
    /// 5-byte prefix moved out (a memmove in place when the buffer is not shared, no new
    /// buffer of the request's size).
    static func decodeMessage(body: inout [UInt8], encoding: String?, max: Int) -> Result<[UInt8], GRPCErrorResponse> {
        let flag: UInt8
        let payload: Range<Int>
        switch GRPCFraming.unaryMessage(body) {
        case .failure(let error): return .failure(error)
        case .success(let message): (flag, payload) = message
        }
        switch flag {
        case 0:
            body.removeSubrange(0..<payload.lowerBound)
            let message = body
            body = []
            return .success(message)
        case 1:
            let encoding = encoding?.asciiLowercased ?? "identity"
            switch encoding {
            case "gzip", "zstd":
                do {
                    return .success(encoding == "gzip" ? try Gzip.decompress(body[payload], limit: max)
                                                       : try ZstdCodec.decompress(body[payload], limit: max))
                } catch where error.code == .tooLarge {
                    return .failure(GRPCErrorResponse(.resourceExhausted,
                                                      "grpc: received message after decompression larger than max (\(max))"))
                } catch {
                    return .failure(GRPCErrorResponse(.internal, "grpc: failed to decompress the received message: \(error)"))
                }
            case "identity":
                return .failure(GRPCErrorResponse(.internal, "grpc: compressed flag set with identity or empty encoding"))
            default:
                return .failure(GRPCErrorResponse(.unimplemented,
                                                  "grpc: Decompressor is not installed for grpc-encoding \"\(encoding)\""))
            }
        default:
            return .failure(GRPCErrorResponse(.internal, "grpc: invalid compressed flag \(flag)"))
        }
    }
}
