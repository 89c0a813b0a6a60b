import Dispatch
import Foundation
import Synchronization
import Testing
@testable import Transport

@Suite("HTTP/1.1 server (live)")
struct HTTP1ServerTests {
    @Test func keepAliveServesSeveralRequestsOnOneSocket() async throws {
        let (server, port) = try startHTTPServer(handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try RawHTTPClient(port: port)
            try client.send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readResponse() == .init(
                head: "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 10",
                body: Array("GET /one 0".utf8)))
            try client.send("POST /two?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
            #expect(try client.readResponse().bodyText == "POST /two?q=1 5")
            try client.send("POST /three HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
            #expect(try client.readResponse().bodyText == "POST /three 3")
            try client.send("GET /four HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let last = try client.readResponse()
            #expect(last.head == "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 11\r\nconnection: close")
            #expect(last.bodyText == "GET /four 0")
            #expect(try client.isClosedByPeer())
        }
    }

    @Test func pipelinedResponsesComeInRequestOrder() async throws {
        // The first request is answered last; responses must still be in request order.
        let (server, port) = try startHTTPServer { request, respond in
            let delay = request.target == "/slow" ? 300 : (request.target == "/medium" ? 100 : 0)
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delay)) {
                respond(.text(200, request.target))
            }
        }
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try RawHTTPClient(port: port)
            try client.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /medium HTTP/1.1\r\nHost: x\r\n\r\n"
                + "POST /fast HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
            let bodies = try (0..<3).map { _ in try client.readResponse().bodyText }
            #expect(bodies == ["/slow", "/medium", "/fast"])
        }
    }

    @Test func deepPipelineIsServedInOrder() async throws {
        let (server, port) = try startHTTPServer(handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try RawHTTPClient(port: port)
            try client.send((0..<100).map { "GET /p\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined())
            let bodies = try (0..<100).map { _ in try client.readResponse().bodyText }
            #expect(bodies == (0..<100).map { "GET /p\($0) 0" })
        }
    }

    @Test func oversizedBodyGets413AndClose() async throws {
        let handled = Atomic<Int>(0)
        let (server, port) = try startHTTPServer(limits: HTTPServerLimits(maxBodyBytes: 1000)) { request, respond in
            handled.add(1, ordering: .relaxed)
            respond(.text(200, "ok"))
        }
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try RawHTTPClient(port: port)
            try client.send("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n")
            client.send(partial: [UInt8](repeating: 0x61, count: 200_000))
            let response = try client.readResponse()
            #expect(response.statusLine == "HTTP/1.1 413 Content Too Large")
            #expect(response.head.contains("\r\nconnection: close"))
            #expect(response.bodyText == "body larger than 1000 bytes\n")
            _ = try client.readToEnd()

            let chunked = try RawHTTPClient(port: port)
            try chunked.send("POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n"
                + String(repeating: "b", count: 1024) + "\r\n")
            #expect(try chunked.readResponse().statusLine == "HTTP/1.1 413 Content Too Large")
        }
        #expect(handled.load(ordering: .relaxed) == 0)
    }

    @Test func malformedRequestsGet400AndClose() async throws {
        let (server, port) = try startHTTPServer(handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            for garbage in ["\u{16}\u{03}\u{01}\u{00}\u{a5}\u{01}", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                            "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", "GET / HTTP/2.0\r\nHost: x\r\n\r\n"] {
                let client = try RawHTTPClient(port: port)
                try client.send(garbage)
                let response = try client.readResponse()
                #expect(response.statusLine == "HTTP/1.1 400 Bad Request", "\(garbage.debugDescription)")
                #expect(response.head.contains("connection: close"))
                #expect(try client.isClosedByPeer())
            }
            // A request answered before the garbage still gets its response first.
            let client = try RawHTTPClient(port: port)
            try client.send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\nBROKEN\r\n\r\n")
            #expect(try client.readResponse().bodyText == "GET /ok 0")
            #expect(try client.readResponse().statusLine == "HTTP/1.1 400 Bad Request")
        }
    }

    @Test func expectContinueAndHTTP10() async throws {
        let (server, port) = try startHTTPServer(handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try RawHTTPClient(port: port)
            try client.send("PUT /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
            #expect(try client.readResponse().statusLine == "HTTP/1.1 100 Continue")
            try client.send("data")
            #expect(try client.readResponse().bodyText == "PUT /up 4")

            let old = try RawHTTPClient(port: port)
            try old.send("GET /old HTTP/1.0\r\n\r\n")
            let response = try old.readResponse()
            #expect(response.head.hasSuffix("connection: close"))
            #expect(response.bodyText == "GET /old 0")
            #expect(try old.isClosedByPeer())

            let kept = try RawHTTPClient(port: port)
            try kept.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(try kept.readResponse().head.hasSuffix("connection: keep-alive"))
            try kept.send("HEAD /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let head = try kept.readResponse(toHead: true)
            #expect(head.head == "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 9\r\nconnection: keep-alive")
            try kept.send("GET /c HTTP/1.0\r\n\r\n")
            #expect(try kept.readResponse().bodyText == "GET /c 0")
        }
    }

    /// The timeouts, driven by the server's sweep with a time later than now (no waiting; the
    /// timeouts are long enough that the real once-a-second sweep never acts during the test):
    /// an idle connection is closed after the idle timeout; a request trickling in a byte at
    /// a time (slowloris) is closed after the request-read timeout although bytes keep
    /// coming; a connection whose request is being handled is left alone.
    @Test func idleAndSlowRequestsAreClosedByTheirTimeouts() async throws {
        let limits = HTTPServerLimits(idleTimeoutNanos: 100_000_000_000, requestReadTimeoutNanos: 200_000_000_000,
                                      headerReadTimeoutNanos: 200_000_000_000)
        let held = Mutex<[@Sendable (HTTPResponse) -> Void]>([])
        let (server, port) = try startHTTPServer(limits: limits) { request, respond in
            if request.target == "/slow" { held.withLock { $0.append(respond) } } else { respond(.text(200, "ok")) }
        }
        defer { server.shutdown(deadline: .now()) {} }
        // Taken before the connections exist: whichever sweep (the test's or the real one, when
        // the machine is slow) starts a clock, it starts at t0 or later, so the times below
        // hold however long the setup takes (up to 49 s).
        let t0 = DispatchTime.now().uptimeNanoseconds
        let idle = try RawHTTPClient(port: port, timeoutSeconds: 5)
        let slow = try RawHTTPClient(port: port, timeoutSeconds: 5)
        let handled = try RawHTTPClient(port: port, timeoutSeconds: 5)
        try slow.send("GET / HTTP/1.1\r\nHo")
        try handled.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        try await waitUntil("the server sees one connection of each") {
            server.connectionActivities.sorted { "\($0)" < "\($1)" } == [.busy, .idle, .receivingHead]
        }
        server.sweepTimeouts(now: max(t0, DispatchTime.now().uptimeNanoseconds))   // the slow request's clock starts
        server.sweepTimeouts(now: t0 + 150_000_000_000)     // idle: more than 100 s
        try await waitUntil("idle closed") { server.connectionCount == 2 }
        #expect(try await blocking { try idle.isClosedByPeer() })
        try slow.send("st")                                 // bytes arrive, the request does not complete
        server.sweepTimeouts(now: t0 + 190_000_000_000)
        #expect(server.connectionCount == 2, "at most 190 s: within the request-read timeout")
        server.sweepTimeouts(now: t0 + 250_000_000_000)     // more than 200 s since the request began
        try await waitUntil("slow closed") { server.connectionCount == 1 }
        #expect(try await blocking { try slow.isClosedByPeer() })
        // The request being handled is untouched however late, and is answered.
        server.sweepTimeouts(now: t0 + 5_000_000_000_000)
        #expect(server.connectionCount == 1)
        held.withLock { $0.forEach { $0(.text(200, "late")) } }
        #expect(try await blocking { try handled.readResponse().bodyText } == "late")
    }

    @Test func aBareLFRequestIsAnsweredAtOnce() async throws {
        let (server, port) = try startHTTPServer(handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try RawHTTPClient(port: port, timeoutSeconds: 5)
            try client.send("GET /lf HTTP/1.1\nHost: x\n\n")
            let response = try client.readResponse()
            #expect(response.statusLine == "HTTP/1.1 400 Bad Request")
            #expect(response.bodyText.contains("bare LF"))
        }
    }

    @Test func headResponsesHaveNoBody() async throws {
        let (server, port) = try startHTTPServer(handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try RawHTTPClient(port: port)
            try client.send("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /g HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let all = String(decoding: try client.readToEnd(), as: UTF8.self)
            #expect(all == "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 9\r\n\r\n"
                + "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 8\r\nconnection: close\r\n\r\nGET /g 0")
        }
    }

    @Test func bindFailureNamesTheEndpoint() throws {
        let (server, port) = try startHTTPServer(handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        let second = HTTPServer(endpoint: Endpoint(host: "127.0.0.1", port: port), handler: describingHandler)
        do {
            try second.start()
            Issue.record("second bind should fail")
        } catch let error as TransportError {
            #expect(error.description == "listen 127.0.0.1:\(port): Address already in use")
            #expect(error.code == .listen)
        }
        #expect(throws: TransportError.self) { try server.start() }
    }

    @Test func handlerAndLimitsCanBeSwappedOnAKeptListener() async throws {
        let (server, port) = try startHTTPServer { _, respond in respond(.text(200, "old")) }
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try RawHTTPClient(port: port)
            try client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readResponse().bodyText == "old")
            server.setHandler { _, respond in respond(.text(201, "new")) }
            server.setLimits(HTTPServerLimits(maxBodyBytes: 3))
            try client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.statusLine == "HTTP/1.1 201 Created")
            #expect(response.bodyText == "new")
            try client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd")
            #expect(try client.readResponse().statusLine == "HTTP/1.1 413 Content Too Large")
        }
    }

    @Test func clientsThatMisbehaveOnlyLoseTheirConnection() async throws {
        let (server, port) = try startHTTPServer(handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            // Disconnect in the middle of a body.
            let quitter = try RawHTTPClient(port: port)
            try quitter.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
            // Half-close after a complete request: the response still arrives, then EOF.
            let halfCloser = try RawHTTPClient(port: port)
            try halfCloser.send("GET /half HTTP/1.1\r\nHost: x\r\n\r\n")
            halfCloser.shutdownWrite()
            #expect(try halfCloser.readResponse().bodyText == "GET /half 0")
            #expect(try halfCloser.isClosedByPeer())
            // Half-close in the middle of a head.
            let partial = try RawHTTPClient(port: port)
            try partial.send("GET /partial HT")
            partial.shutdownWrite()
            #expect(try partial.isClosedByPeer())
        }
        // The server still serves others.
        try await blocking {
            let client = try RawHTTPClient(port: port)
            try client.send("GET /still HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readResponse().bodyText == "GET /still 0")
        }
    }

    @Test func manyConnectionsAtOnce() async throws {
        let (server, port) = try startHTTPServer(handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        try await withThrowingTaskGroup(of: [String].self) { group in
            for connection in 0..<64 {
                group.addTask {
                    try await blocking {
                        let client = try RawHTTPClient(port: port)
                        return try (0..<5).map { index in
                            try client.send("POST /c\(connection)/\(index) HTTP/1.1\r\nHost: x\r\nContent-Length: \(index)\r\n\r\n"
                                + String(repeating: "x", count: index))
                            return try client.readResponse().bodyText
                        }
                    }
                }
            }
            var total = 0
            for try await bodies in group {
                let connection = bodies[0].split(separator: "/")[1]
                #expect(bodies == (0..<5).map { "POST /\(connection)/\($0) \($0)" })
                total += bodies.count
            }
            #expect(total == 320)
        }
    }

    @Test func largeBodyAndResponseOverHTTP1() async throws {
        let payload = patternBytes(3 << 20)
        let (server, port) = try startHTTPServer(limits: HTTPServerLimits(maxBodyBytes: 4 << 20)) { request, respond in
            respond(HTTPResponse(status: 200, body: request.body))
        }
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try RawHTTPClient(port: port)
            DispatchQueue.global().async {
                client.send(partial: Array("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \(payload.count)\r\n\r\n".utf8) + payload)
            }
            let response = try client.readResponse()
            #expect(response.statusLine == "HTTP/1.1 200 OK")
            #expect(response.body == payload)
        }
    }

    @Test func stopAcceptingKeepsExistingConnections() async throws {
        let (server, port) = try startHTTPServer(handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try RawHTTPClient(port: port)
            try client.send("GET /before HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readResponse().bodyText == "GET /before 0")
            server.stopAccepting()
            server.stopAccepting()
            #expect(throws: (any Error).self) { _ = try RawHTTPClient(port: port) }
            try client.send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readResponse().bodyText == "GET /after 0")
        }
    }

    @Test func shutdownLetsInFlightRequestsFinish() async throws {
        let held = HeldResponses()
        let (server, port) = try startHTTPServer { request, respond in
            held.hold { respond(.text(200, "late")) }
        }
        let client = try RawHTTPClient(port: port)
        let idle = try RawHTTPClient(port: port)
        try client.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        try await held.waitFor(1)
        let finished = Atomic<Bool>(false)
        // A deadline far beyond what the test needs: on a loaded machine the check below may
        // take seconds, and the deadline passing would end the in-flight request early.
        server.shutdown(deadline: .now() + 60) { finished.store(true, ordering: .releasing) }
        #expect(try await blocking { try idle.isClosedByPeer() })
        let notYet = finished.load(ordering: .acquiring)
        #expect(!notYet)
        held.releaseAll()
        try await blocking {
            let response = try client.readResponse()
            #expect(response.bodyText == "late")
            #expect(response.head.contains("connection: close"))
            #expect(try client.isClosedByPeer())
        }
        await server.shutdown(deadline: .now() + 5)  // idempotent; returns once drained
        let didFinish = finished.load(ordering: .acquiring)
        #expect(didFinish)
        #expect(server.connectionCount == 0)
    }

    @Test func shutdownDeadlineClosesStuckConnections() async throws {
        let (server, port) = try startHTTPServer { _, _ in }  // never responds
        let client = try RawHTTPClient(port: port)
        try client.send("GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n")
        try await Task.sleep(for: .milliseconds(50))
        let start = DispatchTime.now()
        await server.shutdown(deadline: .now() + .milliseconds(200))
        // Without the deadline the shutdown would wait for the handler forever; a loaded
        // machine may take seconds to run the forced close, so the bound is wide.
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        #expect(elapsed < 30)
        #expect(try await blocking { try client.isClosedByPeer() })
    }

    @Test func shutdownWithoutStartCompletes() async {
        let server = HTTPServer(endpoint: Endpoint(host: "127.0.0.1", port: 0), handler: describingHandler)
        await server.shutdown(deadline: .now())
        await server.shutdown(deadline: .now())
        #expect(throws: TransportError.self) { try server.start() }
    }
}

extension RawHTTPClient {
    /// Sends what the server accepts before it closes (ignores EPIPE/ECONNRESET).
    func send(partial bytes: [UInt8]) {
        _ = try? send(bytes)
    }
}
