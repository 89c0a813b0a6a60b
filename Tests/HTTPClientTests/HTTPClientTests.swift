import Foundation
@testable import HTTPClient
import Synchronization
import Testing

@Suite struct HTTPClientTests {
    private func client(_ server: ScriptedServer, timeoutMillis: UInt64 = 5_000, maxBodyBytes: Int = 1 << 20) throws -> HTTPClient {
        try HTTPClient(endpoint: HTTPEndpoint(host: "127.0.0.1", port: server.port, path: "/base"),
                       timeoutNanos: timeoutMillis * 1_000_000, maxBodyBytes: maxBodyBytes)
    }

    @Test func requestsShareOneKeptConnectionAndCarryTheirHeadersAndBody() throws {
        let seen = Mutex<[String]>([])
        let server = try ScriptedServer { peer in
            while let request = peer.readRequest() {
                seen.withLock { $0.append(request.head + "|" + String(decoding: request.body, as: UTF8.self)) }
                peer.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            }
        }
        defer { server.stop() }
        let c = try client(server)
        let first = try c.send(HTTPRequest(method: "POST", path: "/push?x=1", headers: [("X-Scope-OrgID", "t1")], body: Array("abc".utf8))).get()
        let second = try c.send(HTTPRequest(path: "/query")).get()
        #expect(first.status == 200 && first.text == "ok" && second.text == "ok")
        #expect(server.connections == 1)
        let port = server.port
        #expect(seen.withLock { $0 } == [
            "POST /base/push?x=1 HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nX-Scope-OrgID: t1\r\nUser-Agent: collectord\r\nContent-Length: 3|abc",
            "GET /base/query HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUser-Agent: collectord|",
        ])
    }

    @Test func aKeptConnectionTheServerClosedIsReplacedWithoutAnError() throws {
        let server = try ScriptedServer { peer in
            // One answer per connection, but it claims keep-alive, then closes.
            if peer.readRequest() != nil { peer.write("HTTP/1.1 204 No Content\r\n\r\n") }
        }
        defer { server.stop() }
        let c = try client(server)
        #expect(try c.send(HTTPRequest(path: "/a")).get().status == 204)
        Thread.sleep(forTimeInterval: 0.05)   // let the server's close arrive
        #expect(try c.send(HTTPRequest(path: "/b")).get().status == 204)
        #expect(server.connections == 2)
    }

    @Test func aStreamedAnswerIsHandedOutAsItArrivesAndACutIsAnError() throws {
        let next = DispatchSemaphore(value: 0)
        let server = try ScriptedServer { peer in
            guard peer.readRequest() != nil else { return }
            peer.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            peer.write("6\r\nline1\n\r\n")
            next.wait()   // the client saw line1 before line2 exists
            peer.write("6\r\nline2\n\r\n")
            // Cut without the last chunk.
        }
        defer { server.stop() }
        let c = try client(server)
        var lines: [String] = []
        var status = 0
        let result = c.stream(HTTPRequest(path: "/watch"), readTimeoutNanos: 5_000_000_000,
                              head: { status = $0.status; return true },
                              body: { piece in
                                  lines.append(String(decoding: piece, as: UTF8.self))
                                  if lines.count == 1 { next.signal() }
                                  return true
                              })
        #expect(status == 200)
        #expect(lines == ["line1\n", "line2\n"])
        guard case .failure(let error) = result else { Issue.record("a cut stream succeeded"); return }
        #expect(error.kind == .closed && error.answered)
    }

    @Test func aQuietStreamTimesOutAndCancellationEndsAWaitAtOnce() throws {
        let release = DispatchSemaphore(value: 0)
        let server = try ScriptedServer { peer in
            guard peer.readRequest() != nil else { return }
            peer.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            release.wait()
        }
        defer { server.stop(); release.signal(); release.signal() }
        let c = try client(server)
        let quiet = c.stream(HTTPRequest(path: "/watch"), readTimeoutNanos: 100_000_000, head: { _ in true }, body: { _ in true })
        guard case .failure(let timeout) = quiet else { Issue.record("no timeout"); return }
        #expect(timeout.kind == .timeout)
        #expect(timeout.message == "127.0.0.1:\(server.port): no data for too long while reading the answer")

        let cancellation = HTTPCancellation()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { cancellation.cancel() }
        let cancelled = c.stream(HTTPRequest(path: "/watch"), readTimeoutNanos: nil, cancellation: cancellation,
                                 head: { _ in true }, body: { _ in true })
        guard case .failure(let error) = cancelled else { Issue.record("not cancelled"); return }
        #expect(error.kind == .cancelled && !error.isRetryable)
        #expect(cancellation.isCancelled)
    }

    @Test func failuresAreNamedAndClassified() throws {
        let server = try ScriptedServer { peer in
            guard peer.readRequest() != nil else { return }
            peer.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + String(repeating: "x", count: 100))
        }
        let c = try client(server, maxBodyBytes: 10)
        guard case .failure(let large) = c.send(HTTPRequest(path: "/")) else { Issue.record("no limit"); return }
        #expect(large.kind == .tooLarge && !large.isRetryable)
        server.stop()

        let refused = try HTTPClient(endpoint: HTTPEndpoint(host: "127.0.0.1", port: server.port))
        guard case .failure(let error) = refused.send(HTTPRequest(path: "/")) else { Issue.record("connected"); return }
        #expect(error.kind == .connect && error.isRetryable && !error.answered)
        #expect(error.message == "cannot connect to 127.0.0.1:\(server.port): Connection refused")

        let unresolvable = try HTTPClient(endpoint: HTTPEndpoint(host: "no-such-host.invalid", port: 80))
        guard case .failure(let resolve) = unresolvable.send(HTTPRequest(path: "/")) else { Issue.record("resolved"); return }
        #expect(resolve.kind == .resolve)
    }
}
