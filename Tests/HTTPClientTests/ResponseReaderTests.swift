@testable import HTTPClient
import Testing

@Suite struct ResponseReaderTests {
    /// Feeds `text` in pieces of `step` bytes; returns the head, the body, whether it completed.
    private func read(_ text: String, step: Int = 1, atEnd: Bool = false, bodiless: Bool = false) throws(HTTPClientError)
        -> (head: HTTPResponseHead?, body: String, complete: Bool, keeps: Bool)
    {
        var reader = ResponseReader(bodiless: bodiless)
        var body: [UInt8] = []
        var heads = 0
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let piece = bytes[i..<min(i + step, bytes.count)]
            if try reader.feed(piece, head: { _ in heads += 1 }, body: { body.append(contentsOf: $0) }) { break }
            i += step
        }
        if atEnd { try reader.finish(body: { body.append(contentsOf: $0) }) }
        #expect(heads == (reader.head == nil ? 0 : 1))
        return (reader.head, String(decoding: body, as: UTF8.self), reader.isComplete, reader.keepsConnection)
    }

    @Test(arguments: [1, 3, 1000]) func contentLength(step: Int) throws {
        let r = try read("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", step: step)
        #expect(r.head?.status == 200)
        #expect(r.head?.header("content-type") == "application/json")
        #expect(r.body == "{}" && r.complete && r.keeps)
        let partial = try read("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}", step: step)
        #expect(!partial.complete && partial.body == "{}")
        #expect(throws: HTTPClientError(.closed, "connection closed before the answer's body was complete", answered: true)) {
            try read("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}", step: step, atEnd: true)
        }
    }

    @Test(arguments: [1, 7, 1000]) func chunkedWithExtensionsAndTrailers(step: Int) throws {
        let text = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\ntrace\r\nA\r\n not found\r\n0\r\nX-Trailer: 1\r\n\r\n"
        let r = try read(text, step: step)
        #expect(r.head?.status == 404 && r.body == "trace not found" && r.complete && r.keeps)
        #expect(try read(String(text.dropLast(2)), step: step).complete == false)
        #expect(throws: HTTPClientError.self) { try read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") }
        #expect(throws: HTTPClientError.self) { try read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n") }
    }

    @Test func streamedBodyArrivesBeforeTheEnd() throws {
        var reader = ResponseReader()
        var pieces: [String] = []
        let first = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nline1\n\r\n".utf8)
        #expect(try reader.feed(first, body: { pieces.append(String(decoding: $0, as: UTF8.self)) }) == false)
        #expect(pieces == ["line1\n"])
        #expect(try reader.feed(Array("6\r\nline2\n\r\n0\r\n\r\n".utf8), body: { pieces.append(String(decoding: $0, as: UTF8.self)) }))
        #expect(pieces == ["line1\n", "line2\n"])
    }

    @Test func untilCloseAndBodilessAnswers() throws {
        let r = try read("HTTP/1.0 200 OK\r\n\r\nbody")
        #expect(!r.complete && r.body == "body")
        let closed = try read("HTTP/1.0 200 OK\r\n\r\nbody", atEnd: true)
        #expect(closed.complete && closed.body == "body" && !closed.keeps)
        let noContent = try read("HTTP/1.1 204 No Content\r\n\r\n")
        #expect(noContent.complete && noContent.body == "" && noContent.keeps)
        #expect(try read("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", bodiless: true).complete)
    }

    @Test func interimAnswersAreSkippedAndOnlyCleanHTTP11AnswersKeepTheConnection() throws {
        let interim = try read("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
        #expect(interim.head?.status == 204 && interim.keeps)
        #expect(try read("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nXY", step: 100).keeps == false, "extra bytes")
        #expect(try read("HTTP/1.0 204 No Content\r\n\r\n").keeps == false)
        #expect(try read("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").keeps == false)
    }

    @Test func malformedAnswers() {
        #expect(throws: HTTPClientError(.closed, "connection closed before an answer")) { try read("", atEnd: true) }
        #expect(throws: HTTPClientError.self) { try read("SSH-2.0-OpenSSH\r\n\r\n") }
        #expect(throws: HTTPClientError.self) { try read("HTTP/1.1 200 OK\r\nno colon\r\n\r\n") }
        #expect(throws: HTTPClientError.self) { try read("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n") }
        #expect(throws: HTTPClientError.self) { try read("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n") }
        let huge = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Filler: aaaaaaaaaaaaaaaa\r\n", count: 3000)
        #expect(throws: HTTPClientError.self) { try read(huge, step: 4096) }
    }

    @Test func endpoints() {
        let e = HTTPEndpoint("https://logs.example.com/loki/api/v1/push")
        #expect(e?.host == "logs.example.com" && e?.port == 443 && e?.path == "/loki/api/v1/push" && e?.tls == true)
        #expect(HTTPEndpoint("https://logs.example.com:8443")?.authority == "logs.example.com:8443")
        #expect(HTTPEndpoint("http://[::1]:8080/x/")?.authority == "[::1]:8080")
        #expect(HTTPEndpoint("http://[::1]:8080/x/")?.path == "/x")
        #expect(HTTPEndpoint("10.0.0.1:6443", defaultScheme: "https")?.description == "https://10.0.0.1:6443")
        #expect(HTTPEndpoint("ftp://x") == nil)
        #expect(HTTPEndpoint("http://host:0") == nil)
        #expect(HTTPEndpoint("http://:80") == nil)
    }
}
