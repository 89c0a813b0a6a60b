import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `connect(2)`; a free function so `SimpleHTTP.connect` does not shadow it.
private func posixConnect(_ fd: Int32, _ addr: UnsafePointer<sockaddr>, _ len: socklen_t) -> Int32 {
    connect(fd, addr, len)
}

/// A minimal HTTP/1.1 client over a plain socket (`Connection: close`), for /metrics, health
/// checks and OTLP/HTTP posts in tests. No proxies, no redirects, no TLS, no keep-alive: what a
/// test sends is exactly what goes on the wire.
public enum SimpleHTTP {
    public struct Response: Sendable {
        public let status: Int
        public let reason: String
        /// Header fields in order, names as received.
        public let headerFields: [(name: String, value: String)]
        /// Body, de-chunked when the response used chunked transfer encoding.
        public let body: Data

        /// Header values by lower-cased name (repeated fields joined with ", ").
        public var headers: [String: String] {
            var out: [String: String] = [:]
            for (name, value) in headerFields {
                let key = name.lowercased()
                out[key] = out[key].map { "\($0), \(value)" } ?? value
            }
            return out
        }

        /// The value of header `name` (case-insensitive).
        public func header(_ name: String) -> String? { headers[name.lowercased()] }

        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public struct HTTPError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public static func get(
        host: String = "127.0.0.1", port: Int, path: String, headers: [String: String] = [:],
        timeout: Duration = .seconds(5)
    ) async throws -> Response {
        try await request(method: "GET", host: host, port: port, path: path, headers: headers, body: nil,
                          timeout: timeout)
    }

    public static func post(
        host: String = "127.0.0.1", port: Int, path: String, body: Data,
        contentType: String = "application/x-protobuf", headers: [String: String] = [:],
        timeout: Duration = .seconds(5)
    ) async throws -> Response {
        var all = ["Content-Type": contentType]
        all.merge(headers) { _, new in new }
        return try await request(method: "POST", host: host, port: port, path: path, headers: all, body: body,
                                 timeout: timeout)
    }

    /// GET /metrics and parse the Prometheus text.
    public static func metrics(host: String = "127.0.0.1", port: Int, path: String = "/metrics") async throws
        -> PrometheusScrape
    {
        let response = try await get(host: host, port: port, path: path)
        guard response.status == 200 else {
            throw HTTPError(description: "GET \(path) on \(host):\(port) answered \(response.status): \(response.text)")
        }
        return PrometheusScrape(response.text)
    }

    /// Any method; the blocking socket work runs off the cooperative thread pool.
    public static func request(
        method: String, host: String = "127.0.0.1", port: Int, path: String, headers: [String: String] = [:],
        body: Data? = nil, timeout: Duration = .seconds(5)
    ) async throws -> Response {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result {
                    try requestBlocking(method: method, host: host, port: port, path: path, headers: headers,
                                        body: body, timeout: timeout)
                })
            }
        }
    }

    /// The same request, blocking the calling thread.
    public static func requestBlocking(
        method: String, host: String = "127.0.0.1", port: Int, path: String, headers: [String: String] = [:],
        body: Data? = nil, timeout: Duration = .seconds(5)
    ) throws -> Response {
        let fd = try connect(host: host, port: port, timeout: timeout)
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\n"
        let hostHeader = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var fields: [(String, String)] = [("Host", hostHeader), ("Connection", "close")]
        if let body { fields.append(("Content-Length", String(body.count))) }
        let reserved: Set<String> = ["host", "connection", "content-length"]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) where !reserved.contains(name.lowercased()) {
            fields.append((name, value))
        }
        for (name, value) in fields { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        var out = Data(head.utf8)
        if let body { out.append(body) }
        do {
            try sendAll(fd, out)
        } catch {
            // A server may answer and close before reading a body it refuses (413): what it
            // answered is the interesting part, when it arrived.
            if let raw = try? receiveAll(fd), let response = try? parse(raw, method: method) { return response }
            throw error
        }
        let raw = try receiveAll(fd)
        return try parse(raw, method: method)
    }

    /// True when a TCP connection to host:port can be opened right now.
    public static func canConnect(host: String = "127.0.0.1", port: Int) -> Bool {
        guard let fd = try? connect(host: host, port: port, timeout: .seconds(1)) else { return false }
        close(fd)
        return true
    }

    // MARK: sockets

    private static func connect(host: String, port: Int, timeout: Duration) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw HTTPError(description: "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(first) }
        var lastErrno: Int32 = 0
        var info: UnsafeMutablePointer<addrinfo>? = first
        while let ai = info {
            info = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
            if fd < 0 { lastErrno = errno; continue }
            setTimeouts(fd, timeout)
            if posixConnect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 { return fd }
            lastErrno = errno
            close(fd)
        }
        throw HTTPError(description: "connect to \(host):\(port) failed: \(String(cString: strerror(lastErrno)))")
    }

    private static func setTimeouts(_ fd: Int32, _ timeout: Duration) {
        let c = timeout.components
        var tv = timeval(tv_sec: Int(c.seconds), tv_usec: Int(c.attoseconds / 1_000_000_000_000))
        if tv.tv_sec == 0 && tv.tv_usec == 0 { tv.tv_usec = 1 }
        let size = socklen_t(MemoryLayout<timeval>.size)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, size)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, size)
    }

    private static func sendAll(_ fd: Int32, _ data: Data) throws {
        try data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buf.count {
                let n = send(fd, buf.baseAddress! + offset, buf.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw HTTPError(description: "send failed: \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }
    }

    private static func receiveAll(_ fd: Int32) throws -> Data {
        var out = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                out.append(contentsOf: buffer[0..<n])
            } else if n == 0 {
                return out
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                throw HTTPError(description: "timed out reading the response (\(out.count) bytes so far)")
            } else if errno == ECONNRESET && !out.isEmpty {
                return out
            } else {
                throw HTTPError(description: "recv failed: \(String(cString: strerror(errno)))")
            }
        }
    }

    // MARK: parsing

    static func parse(_ raw: Data, method: String = "GET") throws -> Response {
        let separator = Data("\r\n\r\n".utf8)
        guard let headEnd = raw.range(of: separator) else {
            throw HTTPError(description: "incomplete response (\(raw.count) bytes): \(String(decoding: raw, as: UTF8.self))")
        }
        let head = String(decoding: raw[raw.startIndex..<headEnd.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
            throw HTTPError(description: "bad status line: \(statusLine)")
        }
        let reason = parts.count > 2 ? String(parts[2]) : ""
        var fields: [(name: String, value: String)] = []
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
            let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            fields.append((name, value))
        }
        var body = Data(raw[headEnd.upperBound...])
        let chunked = fields.contains {
            $0.name.lowercased() == "transfer-encoding" && $0.value.lowercased().contains("chunked")
        }
        if method == "HEAD" || status == 204 || status == 304 {
            body = Data()
        } else if chunked {
            body = try dechunk(body)
        } else if let lengthField = fields.last(where: { $0.name.lowercased() == "content-length" }),
            let length = Int(lengthField.value)
        {
            guard body.count >= length else {
                throw HTTPError(description: "body truncated: \(body.count) of \(length) bytes")
            }
            body = body.prefix(length)
        }
        return Response(status: status, reason: reason, headerFields: fields, body: body)
    }

    static func dechunk(_ data: Data) throws -> Data {
        var out = Data()
        var index = data.startIndex
        let crlf = Data("\r\n".utf8)
        while true {
            guard let lineEnd = data.range(of: crlf, in: index..<data.endIndex) else {
                throw HTTPError(description: "truncated chunked body")
            }
            let sizeText = String(decoding: data[index..<lineEnd.lowerBound], as: UTF8.self)
            let hex = sizeText.split(separator: ";").first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
            guard let size = Int(hex, radix: 16) else { throw HTTPError(description: "bad chunk size \"\(sizeText)\"") }
            index = lineEnd.upperBound
            if size == 0 { return out }
            guard data.distance(from: index, to: data.endIndex) >= size + 2 else {
                throw HTTPError(description: "truncated chunk")
            }
            let end = data.index(index, offsetBy: size)
            out.append(data[index..<end])
            index = data.index(end, offsetBy: 2)
        }
    }
}
