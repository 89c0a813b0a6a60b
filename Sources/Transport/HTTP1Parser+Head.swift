#if canImport(Glibc)
import Glibc
#endif

/// Request-line and header-field parsing for ``HTTP1Parser`` (RFC 9112 sections 3 and 5,
/// RFC 9110 section 5), strict: anything ambiguous is rejected rather than guessed.
extension HTTP1Parser {
    enum BodyLength: Equatable {
        case none
        case fixed(Int)
        case chunked
    }

    struct Framing {
        var length: BodyLength
        var expectContinue: Bool
    }

    /// Parses a head (request line + fields, each ending in CRLF, without the blank line),
    /// stores the request in progress, and decides how its body is framed.
    mutating func parseHead(_ bytes: UnsafeRawBufferPointer) -> Result<Framing, HTTP1ParseError> {
        var lines = LineIterator(bytes: bytes)
        guard let requestLine = lines.next() else { return .failure(.init(status: 400, reason: "empty request")) }
        guard let line = requestLine else { return .failure(.init(status: 400, reason: "bare LF in request head")) }
        let method: String
        let target: String
        let version: HTTPVersion
        switch Self.parseRequestLine(line) {
        case .failure(let error): return .failure(error)
        case .success(let parts): (method, target, version) = parts
        }

        var headers = HTTPHeaders()
        var contentLengths: [String] = []
        var transferEncodings: [String] = []
        var hostCount = 0
        var connectionTokens: [String] = []
        var expect: String?
        while let next = lines.next() {
            guard let fieldLine = next else { return .failure(.init(status: 400, reason: "bare LF in request head")) }
            if headers.count >= limits.maxHeaderCount {
                return .failure(.init(status: 431, reason: "more than \(limits.maxHeaderCount) header fields"))
            }
            switch Self.parseField(fieldLine) {
            case .failure(let error): return .failure(error)
            case .success(let field):
                headers.add(name: field.name, value: field.value)
                if HTTPHeaders.namesEqual(field.name, "content-length") {
                    contentLengths.append(field.value)
                } else if HTTPHeaders.namesEqual(field.name, "transfer-encoding") {
                    transferEncodings.append(field.value)
                } else if HTTPHeaders.namesEqual(field.name, "host") {
                    hostCount += 1
                } else if HTTPHeaders.namesEqual(field.name, "connection") {
                    connectionTokens += Self.tokens(field.value)
                } else if HTTPHeaders.namesEqual(field.name, "expect") {
                    if expect != nil { return .failure(.init(status: 400, reason: "repeated Expect")) }
                    expect = field.value
                }
            }
        }

        if version == .http1_1 && hostCount != 1 {
            return .failure(.init(status: 400, reason: hostCount == 0 ? "missing Host" : "repeated Host"))
        }
        let close = connectionTokens.contains("close")
        keepAlive = version == .http1_1 ? !close : (!close && connectionTokens.contains("keep-alive"))

        var length = BodyLength.none
        if !transferEncodings.isEmpty {
            if version == .http1_0 {
                return .failure(.init(status: 400, reason: "Transfer-Encoding in an HTTP/1.0 request"))
            }
            if !contentLengths.isEmpty {
                return .failure(.init(status: 400, reason: "both Content-Length and Transfer-Encoding"))
            }
            let codings = transferEncodings.flatMap(Self.tokens)
            guard codings.last == "chunked" else {
                return .failure(.init(status: 400, reason: "chunked is not the final transfer coding"))
            }
            guard codings.count == 1 else {
                return .failure(.init(status: 501, reason: "unsupported transfer coding"))
            }
            length = .chunked
        } else if !contentLengths.isEmpty {
            guard contentLengths.count == 1 else {
                return .failure(.init(status: 400, reason: "repeated Content-Length"))
            }
            let text = contentLengths[0]
            guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let count = Int(text)
            else {
                return .failure(.init(status: 400, reason: "invalid Content-Length"))
            }
            if count > limits.maxBodyBytes {
                return .failure(.init(status: 413, reason: "body larger than \(limits.maxBodyBytes) bytes"))
            }
            if count > 0 { length = .fixed(count) }
        }

        var expectContinue = false
        if let expect {
            guard expect.asciiLowercased == "100-continue" else {
                return .failure(.init(status: 417, reason: "unsupported expectation"))
            }
            expectContinue = version == .http1_1 && length != .none
        }

        head = HTTPRequest(method: method, target: target, version: version, headers: headers,
                           remoteAddress: remoteAddress)
        return .success(Framing(length: length, expectContinue: expectContinue))
    }

    /// `method SP request-target SP HTTP-version`, exactly one space each.
    static func parseRequestLine(_ line: UnsafeRawBufferPointer) -> Result<(String, String, HTTPVersion), HTTP1ParseError> {
        let bad = HTTP1ParseError(status: 400, reason: "malformed request line")
        guard let firstSpace = line.firstIndex(of: 0x20), firstSpace > 0 else { return .failure(bad) }
        let method = UnsafeRawBufferPointer(rebasing: line[..<firstSpace])
        guard method.allSatisfy(isTokenByte) else { return .failure(bad) }
        let rest = line[(firstSpace + 1)...]
        guard let secondSpace = rest.firstIndex(of: 0x20), secondSpace > firstSpace + 1 else { return .failure(bad) }
        let target = UnsafeRawBufferPointer(rebasing: line[(firstSpace + 1)..<secondSpace])
        guard target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return .failure(bad) }
        let versionBytes = UnsafeRawBufferPointer(rebasing: line[(secondSpace + 1)...])
        let version: HTTPVersion
        if versionBytes.elementsEqual("HTTP/1.1".utf8) {
            version = .http1_1
        } else if versionBytes.elementsEqual("HTTP/1.0".utf8) {
            version = .http1_0
        } else {
            return .failure(HTTP1ParseError(status: 400, reason: "unsupported protocol version"))
        }
        return .success((String(decoding: method, as: UTF8.self), String(decoding: target, as: UTF8.self), version))
    }

    /// `field-name ":" OWS field-value OWS`; rejects obs-fold, whitespace before the colon and
    /// control characters in values.
    static func parseField(_ line: UnsafeRawBufferPointer) -> Result<HTTPField, HTTP1ParseError> {
        if let first = line.first, first == 0x20 || first == 0x09 {
            return .failure(HTTP1ParseError(status: 400, reason: "obsolete line folding"))
        }
        guard let colon = line.firstIndex(of: 0x3A), colon > 0 else {
            return .failure(HTTP1ParseError(status: 400, reason: "malformed header field"))
        }
        let name = UnsafeRawBufferPointer(rebasing: line[..<colon])
        guard name.allSatisfy(isTokenByte) else {
            return .failure(HTTP1ParseError(status: 400, reason: "invalid header field name"))
        }
        var start = colon + 1
        var end = line.count
        while start < end && (line[start] == 0x20 || line[start] == 0x09) { start += 1 }
        while end > start && (line[end - 1] == 0x20 || line[end - 1] == 0x09) { end -= 1 }
        let value = UnsafeRawBufferPointer(rebasing: line[start..<end])
        for byte in value where (byte < 0x20 && byte != 0x09) || byte == 0x7F {
            return .failure(HTTP1ParseError(status: 400, reason: "invalid character in header field value"))
        }
        return .success(HTTPField(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
    }

    /// Rejects an incomplete head early when its first bytes cannot start a request line
    /// (binary garbage, a TLS ClientHello), instead of waiting for the header limit.
    static func checkRequestLinePrefix(_ bytes: UnsafeRawBufferPointer) -> HTTP1ParseError? {
        for byte in bytes.prefix(32) {
            if byte == 0x20 { return nil }
            if !isTokenByte(byte) { return HTTP1ParseError(status: 400, reason: "malformed request line") }
        }
        return nil
    }

    /// Comma-separated list elements, trimmed and lowercased, empty elements dropped.
    static func tokens(_ value: String) -> [String] {
        value.split(separator: ",").compactMap { element in
            let trimmed = element.trimmingASCIIWhitespace()
            return trimmed.isEmpty ? nil : String(trimmed).asciiLowercased
        }
    }
}

/// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
@inline(__always)
func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
    case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: true
    default: false
    }
}

/// Iterates CRLF-terminated lines of a head. Yields `nil` (inside the optional) for a line
/// ended by a bare LF or not ended at all.
struct LineIterator: IteratorProtocol {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    mutating func next() -> UnsafeRawBufferPointer?? {
        guard position < bytes.count, let base = bytes.baseAddress else { return nil }
        guard let hit = memchr(base + position, 0x0A, bytes.count - position) else {
            position = bytes.count
            return .some(nil)
        }
        let lf = base.distance(to: UnsafeRawPointer(hit))
        defer { position = lf + 1 }
        guard lf > position, bytes[lf - 1] == 0x0D else { return .some(nil) }
        return .some(UnsafeRawBufferPointer(rebasing: bytes[position..<(lf - 1)]))
    }
}

extension Substring {
    func trimmingASCIIWhitespace() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
