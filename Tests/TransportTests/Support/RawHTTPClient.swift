import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP client for exact-bytes HTTP/1.1 tests. Not thread-safe; one test owns it.
// @unchecked Sendable: a test drives it from one thread at a time, except that a large upload may
// be written from a helper thread while the test thread reads; `send` touches no stored state.
final class RawHTTPClient: @unchecked Sendable {
    struct Response: Equatable {
        var head: String
        var body: [UInt8]
        var bodyText: String { String(decoding: body, as: UTF8.self) }
        var statusLine: String { String(head.split(separator: "\r\n", omittingEmptySubsequences: false).first ?? "") }
    }

    let fd: Int32
    private var buffer: [UInt8] = []

    /// The descriptor is stored only once connected: a throwing init of a fully initialized
    /// object runs `deinit`, which would close it a second time (by then, maybe another
    /// test's socket).
    init(port: Int, timeoutSeconds: Int = 10) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw TestFailure("connect failed: errno \(e)")
        }
        self.fd = fd
    }

    deinit { Glibc.close(fd) }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Sends all bytes; returns false if the peer closed/reset meanwhile.
    @discardableResult
    func send(_ bytes: [UInt8]) throws -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE || errno == ECONNRESET { return false }
                throw TestFailure("send failed: errno \(errno)")
            }
            offset += sent
        }
        return true
    }

    func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// Reads more bytes into the buffer; false at end of stream.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer.append(contentsOf: chunk[..<count])
                return true
            }
            if count == 0 { return false }
            if errno == EINTR { continue }
            if errno == ECONNRESET { return false }
            throw TestFailure("recv failed: errno \(errno)")
        }
    }

    /// Reads exactly one response (head + Content-Length body; no body for HEAD requests).
    func readResponse(toHead: Bool = false) throws -> Response {
        let terminator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while headEnd == nil {
            if let range = buffer.firstRange(of: terminator) {
                headEnd = range.upperBound
            } else if try !fill() {
                throw TestFailure("connection closed before a complete response head; got \(String(decoding: buffer, as: UTF8.self))")
            }
        }
        let head = String(decoding: buffer[..<(headEnd! - 4)], as: UTF8.self)
        var length = 0
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        if head.hasPrefix("HTTP/1.1 100 ") || toHead { length = 0 }
        while buffer.count < headEnd! + length {
            if try !fill() { throw TestFailure("connection closed inside a response body") }
        }
        let body = Array(buffer[headEnd!..<(headEnd! + length)])
        buffer.removeFirst(headEnd! + length)
        return Response(head: head, body: body)
    }

    /// Reads until the server closes; returns everything not consumed yet.
    func readToEnd() throws -> [UInt8] {
        while try fill() {}
        defer { buffer = [] }
        return buffer
    }

    /// True when the server has closed the connection (EOF) with nothing more to read.
    func isClosedByPeer() throws -> Bool {
        try !fill() && buffer.isEmpty
    }
}
