import Dispatch
import Foundation
import Synchronization
import Testing
@testable import Transport
#if canImport(Glibc)
import Glibc
#endif

@Suite("Connection resilience (live)")
struct ResilienceTests {
    /// Many clients that reset their connections (SO_LINGER 0) mid-response, some while the
    /// server is blocked writing and some while it has paused reading, must all be cleaned up:
    /// no crash, no leaked connection, and the server keeps serving.
    @Test func resetChurnLeavesNoConnectionsBehind() async throws {
        let big = [UInt8](repeating: 0x62, count: 1 << 20)
        let (server, port) = try startHTTPServer { request, respond in
            respond(HTTPResponse(status: 200, body: request.path == "/big" ? big : Array("ok".utf8)))
        }
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            for index in 0..<300 {
                let client = try RawHTTPClient(port: port)
                let request = index % 2 == 0 ? "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"
                    : String(repeating: "GET /small HTTP/1.1\r\nHost: x\r\n\r\n", count: 64)
                client.send(partial: Array(request.utf8))
                var buffer = [UInt8](repeating: 0, count: 512)
                _ = buffer.withUnsafeMutableBytes { recv(client.fd, $0.baseAddress, $0.count, 0) }
                var reset = linger(l_onoff: 1, l_linger: 0)
                setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
            }
        }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while server.connectionCount > 0 && clock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(server.connectionCount == 0)
        try await blocking {
            let client = try RawHTTPClient(port: port)
            try client.send("GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readResponse().bodyText == "ok")
        }
    }

    /// 100 pipelined requests whose handlers answer only later: reading pauses at the
    /// pipelining limit and resumes as responses drain, in order.
    @Test func pipeliningBackpressureResumes() async throws {
        let held = HeldResponses()
        let (server, port) = try startHTTPServer { request, respond in
            held.hold { respond(.text(200, request.target)) }
        }
        defer { server.shutdown(deadline: .now()) {} }
        let client = try RawHTTPClient(port: port)
        try client.send((0..<100).map { "GET /q\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined())
        try await held.waitFor(HTTP1Session.maxPipelined)
        try await Task.sleep(for: .milliseconds(50))
        #expect(held.count == HTTP1Session.maxPipelined)  // paused at the limit
        let received = try await blocking { () -> [String] in
            var bodies: [String] = []
            while bodies.count < 100 {
                held.releaseAll()
                bodies.append(try client.readResponse().bodyText)
            }
            return bodies
        }
        #expect(received == (0..<100).map { "/q\($0)" })
    }

    /// A client that pipelines past the limit and then half-closes still gets every answer.
    @Test func halfCloseAfterDeepPipelineIsAnsweredInFull() async throws {
        let (server, port) = try startHTTPServer(handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try RawHTTPClient(port: port)
            try client.send((0..<80).map { "GET /h\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined())
            client.shutdownWrite()
            let bodies = try (0..<80).map { _ in try client.readResponse().bodyText }
            #expect(bodies == (0..<80).map { "GET /h\($0) 0" })
            #expect(try client.isClosedByPeer())
        }
    }

    @Test func http2HeaderLimitRefusesOnlyThatStream() async throws {
        let (server, port) = try startHTTPServer(limits: HTTPServerLimits(maxHeaderCount: 20), handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try H2TestClient(port: port)
            let many = (0..<30).map { ("x-h\($0)", "v") }
            let refused = try client.call(path: "/many", headers: many, body: [1])
            #expect(refused.status == 431)
            let fine = try client.call(path: "/few", headers: [("x-a", "b")], body: [1])
            #expect(String(decoding: fine.body, as: UTF8.self) == "POST /few 1")
        }
    }

    @Test func clientStreamResetDoesNotDisturbTheConnection() async throws {
        let held = HeldResponses()
        let (server, port) = try startHTTPServer { request, respond in
            if request.path == "/held" { held.hold { respond(.text(200, "late")) } } else { respond(.text(200, "now")) }
        }
        defer { server.shutdown(deadline: .now()) {} }
        let client = UncheckedBox(try H2TestClient(port: port))
        let id = client.value.submit(path: "/held", body: [1])
        try await blocking { try client.value.run(timeout: 5) { _ in true } }
        try await held.waitFor(1)
        client.value.reset(stream: id)
        try await blocking { try client.value.wait(for: [id]) }
        held.releaseAll()  // the answer to a reset stream is dropped
        let response = try await blocking { try client.value.call(path: "/other") }
        #expect(String(decoding: response.body, as: UTF8.self) == "now")
    }

    @Test func localhostAndIPv6Endpoints() async throws {
        let server = HTTPServer(endpoint: try Endpoint(parsing: "localhost:0"), handler: describingHandler)
        try server.start()
        defer { server.shutdown(deadline: .now()) {} }
        let port = try #require(server.boundPort)
        #expect(port > 0)
        #expect(server.boundEndpoint == Endpoint(host: "localhost", port: port))
        try await blocking {
            let client = try RawHTTPClient(port: port)  // localhost binds 127.0.0.1 first
            try client.send("GET /l HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readResponse().bodyText == "GET /l 0")
        }
        let v6 = HTTPServer(endpoint: try Endpoint(parsing: "[::1]:0"), handler: describingHandler)
        do {
            try v6.start()
            #expect((v6.boundPort ?? 0) > 0)
        } catch let error as TransportError {
            // Hosts without IPv6 loopback: the error names the endpoint.
            #expect(error.description.hasPrefix("listen [::1]:0: "))
        }
        await v6.shutdown(deadline: .now())
    }
}
