@testable import collectorctl
import Testing

@Suite struct HTTPResponseParserTests {
    private func parse(_ text: String, atEnd: Bool = false) throws(CLIError) -> HTTPClientResponse? {
        try HTTPResponseParser.parse(Array(text.utf8), atEnd: atEnd)
    }

    @Test func contentLength() throws {
        let response = try #require(try parse("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"))
        #expect(response.status == 200)
        #expect(response.header("content-type") == "application/json")
        #expect(response.text == "{}")
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}") == nil)
        #expect(throws: CLIError(.server, "malformed HTTP response: truncated body")) {
            try parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}", atEnd: true)
        }
    }

    @Test func chunked() throws {
        let text = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\ntrace\r\nA\r\n not found\r\n0\r\nX-Trailer: 1\r\n\r\n"
        let response = try #require(try parse(text))
        #expect(response.status == 404)
        #expect(response.text == "trace not found")
        #expect(try parse(String(text.dropLast(2))) == nil)
        #expect(throws: CLIError.self) { try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") }
    }

    @Test func untilClose() throws {
        #expect(try parse("HTTP/1.0 200 OK\r\n\r\nbody") == nil)
        #expect(try parse("HTTP/1.0 200 OK\r\n\r\nbody", atEnd: true)?.text == "body")
        #expect(try parse("HTTP/1.1 204 No Content\r\n\r\n")?.body == [])
    }

    @Test func malformed() {
        #expect(throws: CLIError(.server, "malformed HTTP response: the server closed the connection without answering")) {
            try parse("", atEnd: true)
        }
        #expect(throws: CLIError.self) { try parse("SSH-2.0-OpenSSH\r\n\r\n") }
        #expect(throws: CLIError.self) { try parse("HTTP/1.1 200 OK\r\nno colon\r\n\r\n") }
    }
}
