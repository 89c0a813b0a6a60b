/// A response as the CLI needs it.
struct HTTPClientResponse: Equatable {
    var status: Int
    /// Header fields in order, names lowercased.
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    static func == (a: HTTPClientResponse, b: HTTPClientResponse) -> Bool {
        a.status == b.status && a.body == b.body && a.headers.elementsEqual(b.headers) { $0 == $1 }
    }
}

/// Parses an HTTP/1.x response from the bytes read so far: status line, header fields, and a
/// body framed by `Transfer-Encoding: chunked`, by `Content-Length`, or by the end of the
/// connection. Pure, so it is tested without sockets.
enum HTTPResponseParser {
    /// The complete response, or nil when more bytes are needed. `atEnd`: the peer closed the
    /// connection (a body without length ends there; anything else incomplete is an error).
    static func parse(_ bytes: [UInt8], atEnd: Bool) throws(CLIError) -> HTTPClientResponse? {
        guard let headEnd = find(Array("\r\n\r\n".utf8), in: bytes, from: 0) else {
            if atEnd { throw malformed(bytes.isEmpty ? "the server closed the connection without answering" : "truncated header") }
            return nil
        }
        let head = String(decoding: bytes[..<headEnd], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw malformed("bad status line \"\(statusLine.prefix(60))\"")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw malformed("bad header line") }
            headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingSpaces))
        }
        let bodyStart = headEnd + 4
        let response = HTTPClientResponse(status: status, headers: headers, body: [])
        if let encoding = response.header("transfer-encoding"), encoding.lowercased().contains("chunked") {
            guard let body = try dechunk(bytes, from: bodyStart) else {
                if atEnd { throw malformed("truncated chunked body") }
                return nil
            }
            return HTTPClientResponse(status: status, headers: headers, body: body)
        }
        if let lengthText = response.header("content-length") {
            guard let length = Int(lengthText), length >= 0 else { throw malformed("bad Content-Length") }
            guard bytes.count - bodyStart >= length else {
                if atEnd { throw malformed("truncated body") }
                return nil
            }
            return HTTPClientResponse(status: status, headers: headers, body: Array(bytes[bodyStart..<bodyStart + length]))
        }
        if status == 204 || status == 304 || (100..<200).contains(status) {
            return HTTPClientResponse(status: status, headers: headers, body: [])
        }
        guard atEnd else { return nil }
        return HTTPClientResponse(status: status, headers: headers, body: Array(bytes[bodyStart...]))
    }

    /// The de-chunked body starting at `start`, or nil when incomplete.
    private static func dechunk(_ bytes: [UInt8], from start: Int) throws(CLIError) -> [UInt8]? {
        var body: [UInt8] = []
        var position = start
        while true {
            guard let lineEnd = find([0x0D, 0x0A], in: bytes, from: position) else { return nil }
            let sizeText = String(decoding: bytes[position..<lineEnd], as: UTF8.self)
            let digits = sizeText.prefix { $0 != ";" }.trimmingSpaces
            guard let size = Int(digits, radix: 16), size >= 0 else { throw malformed("bad chunk size") }
            position = lineEnd + 2
            if size == 0 {
                // Trailer fields (ignored), then an empty line.
                while true {
                    guard let end = find([0x0D, 0x0A], in: bytes, from: position) else { return nil }
                    if end == position { return body }
                    position = end + 2
                }
            }
            guard bytes.count >= position + size + 2 else { return nil }
            body.append(contentsOf: bytes[position..<position + size])
            position += size + 2
        }
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var i = start
        while i + needle.count <= bytes.count {
            if bytes[i] == needle[0] && bytes[i..<i + needle.count].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    private static func malformed(_ reason: String) -> CLIError {
        CLIError(.server, "malformed HTTP response: \(reason)")
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
