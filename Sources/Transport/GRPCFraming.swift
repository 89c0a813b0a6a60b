/// gRPC-over-HTTP/2 wire details: length-prefixed messages, the response layouts, and
/// `grpc-message` percent-encoding. Pure functions.
enum GRPCFraming {
    static let contentType = "application/grpc"
    static let prefixBytes = 5

    /// `application/grpc`, `application/grpc+proto`, `application/grpc;...` (case-insensitive).
    static func isGRPCContentType(_ value: String?) -> Bool {
        guard let value else { return false }
        let lower = value.asciiLowercased
        guard lower.hasPrefix(contentType) else { return false }
        let rest = lower.dropFirst(contentType.count)
        return rest.isEmpty || rest.hasPrefix("+") || rest.hasPrefix(";")
    }

    /// 1 byte compressed flag + 4 bytes big-endian length + message.
    static func frame(_ message: [UInt8], compressed: Bool = false) -> [UInt8] {
        var framed: [UInt8] = []
        framed.reserveCapacity(prefixBytes + message.count)
        let length = UInt32(message.count)
        framed.append(compressed ? 1 : 0)
        framed.append(UInt8(truncatingIfNeeded: length >> 24))
        framed.append(UInt8(truncatingIfNeeded: length >> 16))
        framed.append(UInt8(truncatingIfNeeded: length >> 8))
        framed.append(UInt8(truncatingIfNeeded: length))
        framed.append(contentsOf: message)
        return framed
    }

    /// The declared length in a prefix starting at `offset`.
    static func declaredLength(_ bytes: [UInt8], at offset: Int = 0) -> Int {
        Int(bytes[offset + 1]) << 24 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 8 | Int(bytes[offset + 4])
    }

    /// Early check of a unary body while it arrives: refuses as soon as the prefix declares
    /// more than `max` bytes, or bytes beyond the first message show up.
    static func inspectUnary(_ body: [UInt8], max: Int) -> HTTPResponse? {
        guard body.count >= prefixBytes else { return nil }
        let length = declaredLength(body)
        if length > max {
            return errorResponse(.resourceExhausted, "grpc: received message larger than max (\(length) vs. \(max))")
        }
        if body.count > prefixBytes + length {
            return errorResponse(.internal, "grpc: unary request carries more than one message")
        }
        return nil
    }

    /// The single message of a complete unary body: (compressed flag, payload range), or the
    /// INTERNAL error to answer.
    static func unaryMessage(_ body: [UInt8]) -> Result<(flag: UInt8, payload: Range<Int>), GRPCErrorResponse> {
        guard !body.isEmpty else {
            return .failure(GRPCErrorResponse(.internal, "grpc: request has no message"))
        }
        guard body.count >= prefixBytes else {
            return .failure(GRPCErrorResponse(.internal, "grpc: truncated message prefix (\(body.count) bytes)"))
        }
        let length = declaredLength(body)
        let available = body.count - prefixBytes
        if available < length {
            return .failure(GRPCErrorResponse(.internal, "grpc: truncated message (\(available) of \(length) bytes)"))
        }
        if available > length {
            return .failure(GRPCErrorResponse(.internal, "grpc: unary request carries more than one message"))
        }
        return .success((body[0], prefixBytes..<body.count))
    }

    /// The HTTP/2 response for a gRPC answer (see ``GRPCResponse`` for the layouts).
    static func httpResponse(for response: GRPCResponse) -> HTTPResponse {
        guard response.status == .ok else {
            var result = errorResponse(response.status, response.message)
            for field in response.trailers { result.headers.add(name: field.name, value: field.value) }
            return result
        }
        var trailers: HTTPHeaders = ["grpc-status": "0"]
        if let text = response.message, !text.isEmpty {
            trailers.add(name: "grpc-message", value: percentEncode(text))
        }
        for field in response.trailers { trailers.add(name: field.name, value: field.value) }
        return HTTPResponse(status: 200,
                            headers: ["content-type": contentType, "grpc-accept-encoding": "gzip,zstd"],
                            body: frame(response.body ?? []),
                            trailers: trailers)
    }

    /// A trailers-only error response: one HEADERS frame ending the stream.
    static func errorResponse(_ status: GRPCStatusCode, _ message: String?) -> HTTPResponse {
        var headers: HTTPHeaders = ["content-type": contentType, "grpc-status": String(status.rawValue)]
        if let message, !message.isEmpty { headers.add(name: "grpc-message", value: percentEncode(message)) }
        return HTTPResponse(status: 200, headers: headers)
    }

    /// Percent-encodes per the gRPC spec: bytes outside 0x20...0x7E, and `%`, become `%XX`.
    static func percentEncode(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if byte >= 0x20 && byte <= 0x7E && byte != 0x25 {
                out.append(byte)
            } else {
                out.append(0x25)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Reverses ``percentEncode(_:)``; malformed escapes are kept as they are.
    static func percentDecode(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x25, index + 2 < bytes.count,
               let high = hexDigit(bytes[index + 1]), let low = hexDigit(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}

/// A gRPC error to answer with (status + message), as a value.
struct GRPCErrorResponse: Error, Equatable {
    let status: GRPCStatusCode
    let message: String
    init(_ status: GRPCStatusCode, _ message: String) {
        self.status = status
        self.message = message
    }
    var response: GRPCResponse { .error(status, message) }
}
