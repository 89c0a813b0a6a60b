/// Parses an HTTP/1.1 response: status line, headers, then a body framed by Content-Length,
/// chunked encoding, or the end of the connection. Returns nil while more bytes are needed.
enum LokiHTTPResponseParser {
    static func parse(_ bytes: [UInt8], atEnd: Bool) -> LokiHTTPClient.Response? {
        // Interim answers (100 Continue, 102, 103) precede the real one: skip them.
        let skip = interimLength(bytes)
        if skip > 0 { return parse(Array(bytes[skip...]), atEnd: atEnd) }
        guard let headEnd = find(bytes, [13, 10, 13, 10], from: 0) else {
            return atEnd ? LokiHTTPClient.Response(failure: "truncated response head") : nil
        }
        let head = String(decoding: bytes[0..<headEnd], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            return LokiHTTPClient.Response(failure: "malformed status line")
        }
        var response = LokiHTTPClient.Response(status: status)
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].drop(while: { $0 == " " })
            response.headers.append((String(line[..<colon]), String(value)))
        }
        let bodyStart = headEnd + 4
        if let length = response.header("Content-Length").flatMap({ Int($0) }) {
            guard bytes.count - bodyStart >= length else {
                return atEnd ? LokiHTTPClient.Response(failure: "truncated body") : nil
            }
            response.body = Array(bytes[bodyStart..<bodyStart + length])
            return response
        }
        if response.header("Transfer-Encoding")?.lowercased().contains("chunked") == true {
            guard let body = dechunk(bytes, from: bodyStart) else {
                return atEnd ? LokiHTTPClient.Response(failure: "truncated chunked body") : nil
            }
            response.body = body
            return response
        }
        if status == 204 || status == 304 || (100..<200).contains(status) { return response }
        guard atEnd else { return nil }
        response.body = Array(bytes[bodyStart...])
        return response
    }

    /// Bytes taken by the complete response at the start of `bytes` (framed by Content-Length,
    /// chunks or a bodiless status), or -1 when it is not framed or not complete.
    static func length(_ bytes: [UInt8]) -> Int {
        let skip = interimLength(bytes)
        if skip > 0 {
            let rest = length(Array(bytes[skip...]))
            return rest < 0 ? -1 : skip + rest
        }
        guard let headEnd = find(bytes, [13, 10, 13, 10], from: 0) else { return -1 }
        let bodyStart = headEnd + 4
        let head = String(decoding: bytes[0..<headEnd], as: UTF8.self).lowercased()
        // Only an HTTP/1.1 answer keeps its connection by default.
        guard head.hasPrefix("http/1.1 ") else { return -1 }
        for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
            guard let n = Int(line.dropFirst("content-length:".count).trimmingCharacters()) else { return -1 }
            return bytes.count >= bodyStart + n ? bodyStart + n : -1
        }
        if head.contains("transfer-encoding:") && head.contains("chunked") {
            var position = bodyStart
            while true {
                guard let lineEnd = find(bytes, [13, 10], from: position) else { return -1 }
                let sizeText = String(decoding: bytes[position..<lineEnd], as: UTF8.self).prefix(while: { $0 != ";" })
                guard let size = Int(sizeText.trimmingCharacters(), radix: 16) else { return -1 }
                position = lineEnd + 2
                if size == 0 {
                    // The last chunk, then (no trailers) the final CRLF.
                    return bytes.count >= position + 2 ? position + 2 : -1
                }
                position += size + 2
                guard bytes.count >= position else { return -1 }
            }
        }
        let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return status == 204 || status == 304 || (100..<200).contains(status) ? bodyStart : -1
    }

    /// Length of a complete interim (1xx other than 101) answer at the start of `bytes`, else 0.
    static func interimLength(_ bytes: [UInt8]) -> Int {
        guard bytes.count > 12, bytes[9] == UInt8(ascii: "1"),
              let status = Int(String(decoding: bytes[9..<12], as: UTF8.self)), status != 101,
              let headEnd = find(bytes, [13, 10, 13, 10], from: 0) else { return 0 }
        return headEnd + 4
    }

    /// The body of a complete chunked encoding, or nil while incomplete.
    static func dechunk(_ bytes: [UInt8], from start: Int) -> [UInt8]? {
        var body: [UInt8] = []
        var position = start
        while true {
            guard let lineEnd = find(bytes, [13, 10], from: position) else { return nil }
            let sizeText = String(decoding: bytes[position..<lineEnd], as: UTF8.self).prefix(while: { $0 != ";" })
            guard let size = Int(sizeText.trimmingCharacters(), radix: 16) else { return nil }
            position = lineEnd + 2
            if size == 0 { return body }
            guard bytes.count >= position + size + 2 else { return nil }
            body.append(contentsOf: bytes[position..<position + size])
            position += size + 2
        }
    }

    static func find(_ bytes: [UInt8], _ needle: [UInt8], from: Int) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var i = from
        while i + needle.count <= bytes.count {
            if bytes[i] == needle[0] && Array(bytes[i..<i + needle.count]) == needle { return i }
            i += 1
        }
        return nil
    }
}

extension Substring {
    func trimmingCharacters() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
