import Buffers
import Testing
@testable import Transport

@Suite("HTTP/1.1 request parser")
struct HTTP1ParserTests {
    private func parse(_ text: String, limits: HTTPServerLimits = HTTPServerLimits()) -> [HTTP1Parser.Event] {
        var parser = HTTP1Parser(limits: limits, remoteAddress: "1.2.3.4:5")
        return parser.feed(Array(text.utf8))
    }

    private func parseByteByByte(_ bytes: [UInt8], limits: HTTPServerLimits = HTTPServerLimits()) -> [HTTP1Parser.Event] {
        var parser = HTTP1Parser(limits: limits, remoteAddress: "1.2.3.4:5")
        return bytes.flatMap { parser.feed([$0]) }
    }

    private func errorStatus(_ events: [HTTP1Parser.Event]) -> Int? {
        for case .error(let error) in events { return error.status }
        return nil
    }

    @Test func simpleGet() {
        let events = parse("GET /metrics?x=1&y=2 HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n")
        var expected = HTTPRequest(method: "GET", target: "/metrics?x=1&y=2", version: .http1_1,
                                   headers: ["Host": "localhost", "Accept": "*/*"], remoteAddress: "1.2.3.4:5")
        expected.body = []
        #expect(events == [.request(expected, keepAlive: true)])
        guard case .request(let request, _) = events.first else { return }
        #expect(request.path == "/metrics")
        #expect(request.query == "x=1&y=2")
        #expect(request.headers["HOST"] == "localhost")
        #expect(request.headers["accept"] == "*/*")
    }

    @Test func contentLengthBodyByteByByte() {
        let text = "POST /v1/traces HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-protobuf\r\nContent-Length: 11\r\n\r\nhello world"
        let events = parseByteByByte(Array(text.utf8))
        #expect(events.count == 1)
        guard case .request(let request, let keepAlive) = events.first else {
            Issue.record("no request: \(events)")
            return
        }
        #expect(keepAlive)
        #expect(request.method == "POST")
        #expect(request.target == "/v1/traces")
        #expect(request.body == Array("hello world".utf8))
        #expect(request.headers.fields.map(\.name) == ["Host", "Content-Type", "Content-Length"])
    }

    /// Found by fuzzing (Fuzz/corpus/FuzzHTTP1/regression-split-empty-line): the empty lines
    /// allowed before a request line (RFC 9112 section 2.2, e.g. the CRLF some clients send
    /// after a body) were refused with 400 when a read ended between their CR and LF.
    /// A large fixed-length body arriving in pieces is read into one buffer of its declared
    /// length from the pool (the pool's spare when it has one that fits); a small one, or one
    /// that arrives whole, is not.
    @Test func aLargeBodyInPiecesGetsOneBufferOfItsLengthFromThePool() {
        let pool = PayloadPool(limit: 2, maxBytes: 16 << 20, maxSlack: 2, idleRelease: false)
        func request(_ length: Int, pieces: Int) -> HTTPRequest? {
            var parser = HTTP1Parser(remoteAddress: "1.2.3.4:5", bodyPool: pool)
            let head = Array("POST /v1/traces HTTP/1.1\r\nHost: h\r\nContent-Length: \(length)\r\n\r\n".utf8)
            let body = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            var events = parser.feed(head)
            let step = (length + pieces - 1) / pieces
            for start in stride(from: 0, to: length, by: step) {
                events += parser.feed(Array(body[start..<min(start + step, length)]))
            }
            guard case .request(let request, _)? = events.first, events.count == 1 else { return nil }
            #expect(request.body == body)
            return request
        }
        let large = request(300_000, pieces: 5)
        #expect(large.map { $0.body.capacity - $0.body.count < 4096 } == true, "sized once, not regrown")
        var spare: [UInt8] = []
        spare.reserveCapacity(400_000)
        let address = spare.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        pool.give(spare)
        spare = []
        let reused = request(300_000, pieces: 3)
        #expect(reused.map { $0.body.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } } == address)
        #expect(pool.retained.count == 0)
        var other: [UInt8] = []
        other.reserveCapacity(400_000)
        pool.give(other)
        _ = request(60_000, pieces: 3)   // under 64 KiB: grows as it arrives
        _ = request(300_000, pieces: 1)  // whole in one read: one exact append, no pool
        #expect(pool.retained.count == 1, "neither took the spare")
    }

    @Test func emptyLineBeforeARequestSplitBetweenCRAndLF() {
        let text = Array("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok\r\nGET /b HTTP/1.0\r\n\r\n".utf8)
        let whole = parse(String(decoding: text, as: UTF8.self))
        #expect(whole.count == 2)
        guard case .request(let second, let keepAlive) = whole.last else {
            Issue.record("no second request: \(whole)")
            return
        }
        #expect(second.target == "/b")
        #expect(keepAlive == false)
        #expect(parseByteByByte(text) == whole)
        var parser = HTTP1Parser(limits: HTTPServerLimits(), remoteAddress: "1.2.3.4:5")
        let cr = text.firstIndex(of: 0x6B)! + 2   // just after "ok\r"
        let first = parser.feed(Array(text[..<cr]))
        #expect(first == [whole[0]])
        #expect(!parser.isIdle)
        #expect(parser.feed(Array(text[cr...])) == [whole[1]])
    }

    @Test func pipelinedRequestsInOneBuffer() {
        let text = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
            + "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
            + "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        let events = parse(text)
        let summary = events.map { event -> String in
            guard case .request(let request, let keepAlive) = event else { return "other" }
            return "\(request.method) \(request.target) \(String(decoding: request.body, as: UTF8.self)) \(keepAlive)"
        }
        #expect(summary == ["GET /a  true", "POST /b abc true", "GET /c  false"])
    }

    @Test func pipelinedRequestsSplitAtEveryPosition() {
        let text = Array(("POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            + "GET /c HTTP/1.1\r\nHost: h\r\n\r\n").utf8)
        for split in 1..<text.count {
            var parser = HTTP1Parser()
            let events = parser.feed(Array(text[..<split])) + parser.feed(Array(text[split...]))
            let targets = events.compactMap { event -> String? in
                guard case .request(let request, _) = event else { return nil }
                return request.target + ":" + String(decoding: request.body, as: UTF8.self)
            }
            #expect(targets == ["/b:abc", "/c:"], "split at \(split)")
        }
    }

    @Test func chunkedBodyWithExtensionsAndTrailers() {
        let text = "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n1A\r\n" + String(repeating: "z", count: 26) + "\r\n0\r\nX-Checksum: 1\r\n\r\n"
        for events in [parse(text), parseByteByByte(Array(text.utf8))] {
            guard case .request(let request, true)? = events.first, events.count == 1 else {
                Issue.record("unexpected events \(events)")
                continue
            }
            #expect(request.body == Array(("hello" + String(repeating: "z", count: 26)).utf8))
        }
    }

    @Test func http10DefaultsToClose() {
        let events = parse("GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
        let keepAlive = events.compactMap { event -> Bool? in
            guard case .request(_, let keepAlive) = event else { return nil }
            return keepAlive
        }
        #expect(keepAlive == [false, true])
    }

    @Test func expectContinueIsReportedBeforeTheBody() {
        var parser = HTTP1Parser()
        let head = parser.feed(Array("PUT /u HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".utf8))
        #expect(head == [.expectContinue])
        let rest = parser.feed(Array("ok".utf8))
        guard case .request(let request, _)? = rest.first else {
            Issue.record("no request")
            return
        }
        #expect(request.body == [0x6F, 0x6B])
    }

    @Test func leadingEmptyLinesAreTolerated() {
        let events = parse("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(events.count == 1)
        guard case .request? = events.first else {
            Issue.record("expected a request")
            return
        }
    }

    @Test(arguments: [
        ("both CL and TE", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("duplicate CL", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
        ("conflicting CL", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
        ("CL list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc", 400),
        ("negative CL", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400),
        ("invalid chunk size", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("chunk size overflow", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", 400),
        ("missing chunk CRLF", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  continued\r\n\r\n", 400),
        ("space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400),
        ("bad request line", "GET /\r\nHost: h\r\n\r\n", 400),
        ("double space", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 400),
        ("HTTP/3", "GET / HTTP/3\r\nHost: h\r\n\r\n", 400),
        ("lowercase version", "GET / http/1.1\r\nHost: h\r\n\r\n", 400),
        ("binary garbage", "\u{16}\u{03}\u{01}\u{02}\u{00}", 400),
        ("missing Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400),
        ("bare LF", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400),
        // Only LFs: refused at the first one (it used to wait for a CRLFCRLF forever).
        ("bare LF only", "GET / HTTP/1.1\nHost: h\n\n", 400),
        ("bare LF head unfinished", "GET / HTTP/1.1\nHost: h", 400),
        ("leading bare LF", "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("control char in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\u{01}b\r\n\r\n", 400),
        ("TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("unsupported coding", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        ("chunked not last", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
        ("unknown expectation", "POST / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\nContent-Length: 1\r\n\r\nx", 417),
    ])
    func rejections(name: String, text: String, status: Int) {
        #expect(errorStatus(parse(text)) == status, "\(name)")
        #expect(errorStatus(parseByteByByte(Array(text.utf8))) == status, "\(name) byte by byte")
    }

    @Test func headerBytesLimit() {
        let limits = HTTPServerLimits(maxHeaderBytes: 1024)
        let big = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + String(repeating: "a", count: 2000) + "\r\n\r\n"
        #expect(errorStatus(parse(big, limits: limits)) == 431)
        // Incomplete head already past the limit: refused without waiting for the end.
        var parser = HTTP1Parser(limits: limits)
        let events = parser.feed(Array(("GET / HTTP/1.1\r\nX: " + String(repeating: "b", count: 1100)).utf8))
        #expect(errorStatus(events) == 431)
    }

    @Test func headerCountLimit() {
        let limits = HTTPServerLimits(maxHeaderCount: 5)
        let fields = (0..<6).map { "X-\($0): v\r\n" }.joined()
        #expect(errorStatus(parse("GET / HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n", limits: limits)) == 431)
        let ok = (0..<4).map { "X-\($0): v\r\n" }.joined()
        guard case .request? = parse("GET / HTTP/1.1\r\nHost: h\r\n" + ok + "\r\n", limits: limits).first else {
            Issue.record("5 fields should pass")
            return
        }
    }

    @Test func bodyLimitFromContentLengthBeforeAnyBodyByte() {
        var parser = HTTP1Parser(limits: HTTPServerLimits(maxBodyBytes: 10))
        let events = parser.feed(Array("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n".utf8))
        #expect(events == [.error(HTTP1ParseError(status: 413, reason: "body larger than 10 bytes"))])
        #expect(parser.state == .failed)
        #expect(parser.feed(Array("more".utf8)).isEmpty)
    }

    @Test func bodyLimitForChunkedBodies() {
        let limits = HTTPServerLimits(maxBodyBytes: 10)
        let text = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\n"
        #expect(errorStatus(parse(text, limits: limits)) == 413)
        let exact = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n"
        guard case .request(let request, _)? = parse(exact, limits: limits).first else {
            Issue.record("10 bytes should pass")
            return
        }
        #expect(request.body.count == 10)
    }

    @Test func idleOnlyBetweenRequests() {
        var parser = HTTP1Parser()
        #expect(parser.isIdle)
        _ = parser.feed(Array("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\na".utf8))
        #expect(!parser.isIdle)
        _ = parser.feed(Array("b".utf8))
        #expect(parser.isIdle)
    }

    @Test func absoluteFormTarget() {
        #expect(HTTPRequest.split(target: "http://example.com:8080/v1/logs?a=b") == ("/v1/logs", "a=b"))
        #expect(HTTPRequest.split(target: "http://example.com") == ("/", nil))
        #expect(HTTPRequest.split(target: "*") == ("*", nil))
        #expect(HTTPRequest.split(target: "/p?") == ("/p", ""))
    }
}
