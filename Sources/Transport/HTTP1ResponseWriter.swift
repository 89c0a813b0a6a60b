/// Serializes responses for HTTP/1.1 connections. Pure functions.
enum HTTP1ResponseWriter {
    /// Bodies up to this size are copied behind the head (one write); larger bodies are
    /// queued as their own chunk (no copy).
    static let coalesceLimit = 16 * 1024

    /// The bytes to send for `response`, as one or two chunks.
    ///
    /// The server owns framing: any `Content-Length`, `Transfer-Encoding` or `Connection`
    /// field from the handler is replaced. Fields with characters that could split the
    /// response (CR, LF, non-token names) are dropped. Trailers are not sent on HTTP/1.1.
    /// - Parameters:
    ///   - keepAlive: false adds `connection: close`.
    ///   - requestVersion: HTTP/1.0 peers get `connection: keep-alive` when kept open.
    ///   - omitBody: true for responses to HEAD (the length is still announced).
    static func serialize(_ response: HTTPResponse, keepAlive: Bool, requestVersion: HTTPVersion, omitBody: Bool) -> [[UInt8]] {
        let status = (100...999).contains(response.status) ? response.status : 500
        var head: [UInt8] = []
        head.reserveCapacity(128 + response.headers.count * 48 + (response.body.count <= coalesceLimit ? response.body.count : 0))
        head.append(contentsOf: "HTTP/1.1 \(status) \(HTTPResponse.reasonPhrase(status))\r\n".utf8)
        for field in response.headers {
            if HTTPHeaders.namesEqual(field.name, "content-length")
                || HTTPHeaders.namesEqual(field.name, "transfer-encoding")
                || HTTPHeaders.namesEqual(field.name, "connection") {
                continue
            }
            guard isSafe(field) else { continue }
            head.append(contentsOf: field.name.utf8)
            head.append(contentsOf: ": ".utf8)
            head.append(contentsOf: field.value.utf8)
            head.append(contentsOf: "\r\n".utf8)
        }
        let bodyAllowed = !(status < 200 || status == 204 || status == 304)
        if bodyAllowed {
            head.append(contentsOf: "content-length: \(response.body.count)\r\n".utf8)
        }
        if !keepAlive {
            head.append(contentsOf: "connection: close\r\n".utf8)
        } else if requestVersion == .http1_0 {
            head.append(contentsOf: "connection: keep-alive\r\n".utf8)
        }
        head.append(contentsOf: "\r\n".utf8)
        guard bodyAllowed, !omitBody, !response.body.isEmpty else { return [head] }
        if response.body.count <= coalesceLimit {
            head.append(contentsOf: response.body)
            return [head]
        }
        return [head, response.body]
    }

    /// The interim response sent for `Expect: 100-continue`.
    static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    private static func isSafe(_ field: HTTPField) -> Bool {
        !field.name.isEmpty && field.name.utf8.allSatisfy(isTokenByte)
            && !field.value.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F })
    }
}
