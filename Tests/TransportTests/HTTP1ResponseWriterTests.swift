import Testing
@testable import Transport

@Suite("HTTP/1.1 response writer")
struct HTTP1ResponseWriterTests {
    private func text(_ response: HTTPResponse, keepAlive: Bool = true, version: HTTPVersion = .http1_1, head: Bool = false) -> String {
        let chunks = HTTP1ResponseWriter.serialize(response, keepAlive: keepAlive, requestVersion: version, omitBody: head)
        return String(decoding: chunks.joined(), as: UTF8.self)
    }

    @Test func framingIsOwnedByTheServer() {
        let response = HTTPResponse(status: 200, headers: [("Content-Length", "999"), ("Transfer-Encoding", "chunked"),
                                                           ("Connection", "upgrade"), ("X-A", "1")], body: Array("hi".utf8))
        #expect(text(response) == "HTTP/1.1 200 OK\r\nX-A: 1\r\ncontent-length: 2\r\n\r\nhi")
        #expect(text(response, keepAlive: false) == "HTTP/1.1 200 OK\r\nX-A: 1\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi")
        #expect(text(response, version: .http1_0) == "HTTP/1.1 200 OK\r\nX-A: 1\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nhi")
        #expect(text(response, head: true) == "HTTP/1.1 200 OK\r\nX-A: 1\r\ncontent-length: 2\r\n\r\n")
    }

    @Test func unsafeFieldsAreDropped() {
        let response = HTTPResponse(status: 204, headers: [("X-Split", "a\r\nSet-Cookie: x"), ("Bad Name", "v"), ("Ok", "tab\tvalue")])
        #expect(text(response) == "HTTP/1.1 204 No Content\r\nOk: tab\tvalue\r\n\r\n")
    }

    @Test func largeBodiesAreNotCopied() {
        let body = [UInt8](repeating: 7, count: HTTP1ResponseWriter.coalesceLimit + 1)
        let chunks = HTTP1ResponseWriter.serialize(HTTPResponse(status: 200, body: body), keepAlive: true,
                                                   requestVersion: .http1_1, omitBody: false)
        #expect(chunks.count == 2)
        #expect(chunks[1] == body)
    }

    @Test func headersLookupIsCaseInsensitiveAndOrdered() {
        var headers: HTTPHeaders = ["A": "1", "b": "2", "a": "3"]
        #expect(headers["a"] == "1")
        #expect(headers.values(for: "A") == ["1", "3"])
        headers.set(name: "B", value: "4")
        headers.append(("c", "5"))
        #expect(headers.fields.map { "\($0.name)=\($0.value)" } == ["A=1", "a=3", "B=4", "c=5"])
        headers.remove(name: "A")
        #expect(headers == [("B", "4"), ("c", "5")])
    }
}
