import Buffers
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import Transport

@Suite("HTTP/2 h2c (live)")
struct HTTP2ServerTests {
    @Test func h2cRequestReachesTheSameHandler() async throws {
        let seen = Mutex<HTTPRequest?>(nil)
        let (server, port) = try startHTTPServer { request, respond in
            seen.withLock { $0 = request }
            respond(HTTPResponse(status: 202, headers: ["X-Reply": "yes", "Connection": "dropped"], body: Array("got it".utf8)))
        }
        defer { server.shutdown(deadline: .now()) {} }
        let response = try await blocking {
            let client = try H2TestClient(port: port)
            return try client.call(path: "/v1/logs?x=1", headers: [("content-type", "application/json"), ("x-tenant", "a")],
                                   body: Array("{}".utf8))
        }
        #expect(response.status == 202)
        #expect(response.header("x-reply") == "yes")
        #expect(response.header("connection") == nil)
        #expect(response.header("content-length") == "6")
        #expect(response.body == Array("got it".utf8))
        let request = try #require(seen.withLock { $0 })
        #expect(request.version == .http2)
        #expect(request.method == "POST")
        #expect(request.target == "/v1/logs?x=1")
        #expect(request.path == "/v1/logs")
        #expect(request.query == "x=1")
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.headers["x-tenant"] == "a")
        #expect(request.headers["host"] == "127.0.0.1")
        #expect(request.body == Array("{}".utf8))
        #expect(request.remoteAddress.hasPrefix("127.0.0.1:"))
    }

    @Test func curlWithPriorKnowledge() async throws {
        let (server, port) = try startHTTPServer(handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        let (status, output, errors) = try await blocking {
            try run("/usr/bin/curl", ["-s", "-i", "--http2-prior-knowledge", "--data-binary", "abcdef",
                                      "http://127.0.0.1:\(port)/curl/path"])
        }
        #expect(status == 0, "\(errors)")
        #expect(output.hasPrefix("HTTP/2 200 \r\n"))
        #expect(output.hasSuffix("\r\n\r\nPOST /curl/path 6"))
    }

    @Test func hundredConcurrentStreamsAnsweredOutOfOrder() async throws {
        let (server, port) = try startHTTPServer { request, respond in
            let delay = Int.random(in: 0...200)
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delay)) {
                respond(HTTPResponse(status: 200, body: Array("reply to \(request.path) with \(request.body.count)".utf8)))
            }
        }
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try H2TestClient(port: port)
            let ids = (0..<100).map { index in
                client.submit(path: "/stream/\(index)", body: [UInt8](repeating: 7, count: index * 10))
            }
            try client.wait(for: ids)
            for (index, id) in ids.enumerated() {
                let response = client.responses[id]!
                #expect(response.status == 200)
                #expect(String(decoding: response.body, as: UTF8.self) == "reply to /stream/\(index) with \(index * 10)")
            }
        }
    }

    @Test func twentyMegabyteBodyArrivesIntact() async throws {
        let payload = patternBytes(20 << 20)
        let received = Mutex<[UInt8]>([])
        let (server, port) = try startHTTPServer(limits: HTTPServerLimits(maxBodyBytes: 32 << 20)) { request, respond in
            received.withLock { $0 = request.body }
            // Echo 5 MB back so the response side also has to respect flow control.
            respond(HTTPResponse(status: 200, body: Array(request.body.prefix(5 << 20))))
        }
        defer { server.shutdown(deadline: .now()) {} }
        let response = try await blocking {
            let client = try H2TestClient(port: port)
            return try client.call(path: "/big", body: payload)
        }
        #expect(response.status == 200)
        #expect(received.withLock { $0 == payload })
        #expect(response.body == Array(payload.prefix(5 << 20)))
    }

    @Test func oversizedStreamIsRefusedAloneAndTheConnectionLivesOn() async throws {
        let (server, port) = try startHTTPServer(limits: HTTPServerLimits(maxBodyBytes: 100_000), handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try H2TestClient(port: port)
            let big = client.submit(path: "/big", body: patternBytes(1 << 20))
            let small = client.submit(path: "/small", body: [1, 2, 3])
            try client.wait(for: [big, small])
            #expect(client.responses[big]!.status == 413)
            #expect(String(decoding: client.responses[big]!.body, as: UTF8.self) == "request body larger than 100000 bytes\n")
            #expect(client.responses[small]!.status == 200)
            #expect(String(decoding: client.responses[small]!.body, as: UTF8.self) == "POST /small 3")
            let after = try client.call(path: "/after", body: [9])
            #expect(String(decoding: after.body, as: UTF8.self) == "POST /after 1")
            // A declared content-length over the limit is refused before any DATA.
            let declared = try client.call(path: "/declared", headers: [("content-length", "200000")], body: patternBytes(200_000))
            #expect(declared.status == 413)
        }
    }

    @Test func manyHTTP2Connections() async throws {
        let (server, port) = try startHTTPServer(handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for connection in 0..<24 {
                group.addTask {
                    try await blocking {
                        let client = try H2TestClient(port: port)
                        let ids = (0..<10).map { client.submit(path: "/c\(connection)/s\($0)", body: [UInt8](repeating: 1, count: $0)) }
                        try client.wait(for: ids)
                        var ok = 0
                        for (index, id) in ids.enumerated()
                        where String(decoding: client.responses[id]!.body, as: UTF8.self) == "POST /c\(connection)/s\(index) \(index)" {
                            ok += 1
                        }
                        return ok
                    }
                }
            }
            var total = 0
            for try await ok in group { total += ok }
            #expect(total == 240)
        }
    }

    @Test func shutdownSendsGoawayAndFinishesOpenStreams() async throws {
        let held = HeldResponses()
        let (server, port) = try startHTTPServer { request, respond in
            held.hold { respond(.text(200, "done")) }
        }
        let client = UncheckedBox(try H2TestClient(port: port))
        let id = client.value.submit(path: "/slow", body: [1])
        try await blocking { try client.value.run(timeout: 5) { _ in true } }  // flush the request
        try await held.waitFor(1)
        let finished = Atomic<Bool>(false)
        server.shutdown(deadline: .now() + 10) { finished.store(true, ordering: .releasing) }
        try await blocking { try client.value.run(timeout: 10) { $0.goawayReceived } }
        held.releaseAll()
        try await blocking {
            try client.value.wait(for: [id])
            #expect(String(decoding: client.value.responses[id]!.body, as: UTF8.self) == "done")
        }
        await server.shutdown(deadline: .now() + 5)
        let didFinish = finished.load(ordering: .acquiring)
        #expect(didFinish)
    }

    /// The connection timeouts over HTTP/2, driven by the sweep with later times (no waiting):
    /// an idle connection gets GOAWAY after the idle timeout; a stream whose body never ends
    /// is closed after the request-read timeout (the shorter header timeout does not apply to
    /// it); a preface that never completes is a head in progress, closed after the header
    /// timeout.
    @Test func idleAndUnfinishedConnectionsAreClosedByTheirTimeouts() async throws {
        let limits = HTTPServerLimits(idleTimeoutNanos: 100_000_000_000, requestReadTimeoutNanos: 200_000_000_000,
                                      headerReadTimeoutNanos: 150_000_000_000)
        let (server, port) = try startHTTPServer(limits: limits, handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        let idle = UncheckedBox(try H2TestClient(port: port))
        let unfinished = UncheckedBox(try H2TestClient(port: port))
        let head = try RawHTTPClient(port: port, timeoutSeconds: 5)
        try await blocking {
            #expect(try idle.value.call(method: "GET", path: "/one").status == 200)
            unfinished.value.submit(path: "/up", body: Array("part".utf8), endStream: false)
            try unfinished.value.pump(seconds: 0.2)
            try head.send("PRI * HTTP/2.0\r\n")
        }
        try await waitUntil("one idle, one receiving a body, one receiving a head") {
            server.connectionActivities.sorted { "\($0)" < "\($1)" } == [.idle, .receiving, .receivingHead]
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        server.sweepTimeouts(now: t0)
        server.sweepTimeouts(now: t0 + 101_000_000_000)
        try await blocking { try idle.value.waitForGoaway(timeout: 10) }
        try await waitUntil("the idle connection closed") { server.connectionCount == 2 }
        // (The real once-a-second sweep may have started the clocks up to a few seconds before
        // t0 on a loaded machine, so the checks keep a margin from the timeouts.)
        server.sweepTimeouts(now: t0 + 151_000_000_000)
        try await waitUntil("the unfinished head closed, the unfinished body not yet") { server.connectionCount == 1 }
        #expect(try await blocking { try head.isClosedByPeer() })
        server.sweepTimeouts(now: t0 + 201_000_000_000)
        try await waitUntil("the unfinished body closed") { server.connectionCount == 0 }
    }

    /// An idle connection gives back its frame buffer's and stream map's pages (zero pages on
    /// the next touch); nghttp2 goes on as before: requests on the same connection, with the
    /// client's HPACK table from before the trim, are answered in full, and the connection
    /// trims again once per idle spell.
    @Test func anIdleConnectionGivesBackPagesAndKeepsWorking() async throws {
        let (server, port) = try startHTTPServer(handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        let client = UncheckedBox(try H2TestClient(port: port))
        func calls(_ round: Int) async throws {
            try await blocking {
                for i in 0..<3 {
                    let body = Array("round \(round) call \(i)".utf8)
                    let response = try client.value.call(path: "/trim/\(round)/\(i)", headers: [("x-tenant", "team-a")], body: body)
                    #expect(response.status == 200)
                    #expect(response.body == Array("POST /trim/\(round)/\(i) \(body.count)".utf8))
                }
            }
        }
        // (The server's own once-a-second sweep may trim too, between calls on a slow machine:
        // the counts are compared, not fixed.)
        func trims() -> Int { server.connectionTrims.first ?? -1 }
        try await calls(1)
        try await waitUntil("the connection is idle") { server.connectionActivities == [.idle] }
        let later = DispatchTime.now().uptimeNanoseconds + 2 * Connection.trimAfterNanos
        server.sweepTimeouts(now: later)
        try await waitUntil("pages given back") { trims() >= 1 }
        let first = trims()
        server.sweepTimeouts(now: later + 1_000_000_000)
        #expect(trims() == first, "once per idle spell")
        try await calls(2)
        try await waitUntil("the connection is idle again") { server.connectionActivities == [.idle] }
        server.sweepTimeouts(now: DispatchTime.now().uptimeNanoseconds + 2 * Connection.trimAfterNanos)
        try await waitUntil("pages given back again") { trims() > first }
        try await calls(3)
    }

    /// The complete request moves into the router with the only reference to its body, so a
    /// router may cut it in place (the gRPC router does) instead of copying a body-sized buffer:
    /// taking mutable access to the body keeps its address.
    @Test func theRouterGetsTheOnlyReferenceToTheBody() async throws {
        let router = OwnershipRouter()
        let core = ServerCore(endpoint: Endpoint(host: "127.0.0.1", port: 0), router: router, budget: RequestBudget(), tls: nil)
        try core.start()
        defer { core.shutdown(deadline: .now()) {} }
        let port = try #require(core.boundPort)
        try await blocking {
            let client = try H2TestClient(port: port)
            for size in [10, 100_000, 600_000] {
                let response = try client.call(path: "/own", body: [UInt8](repeating: 7, count: size))
                #expect(response.status == 200)
                #expect(response.body == Array("\(size) bytes, unique".utf8))
            }
        }
    }

    @Test func garbageAfterThePrefaceClosesOnlyThatConnection() async throws {
        let (server, port) = try startHTTPServer(handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let raw = try RawHTTPClient(port: port)
            try raw.send(Array(Connection.http2Preface) + [UInt8](repeating: 0xFF, count: 64))
            _ = try raw.readToEnd()  // GOAWAY (if any) then EOF
            let client = try H2TestClient(port: port)
            #expect(try client.call(path: "/fine").status == 200)
        }
    }
}

/// Moves a non-Sendable test object into `blocking` closures.
// @unchecked Sendable: the wrapped value is used by one thread at a time (the test awaits each
// blocking call before the next).
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Answers whether the body it was given had no other owner (mutable access did not copy it).
private final class OwnershipRouter: RequestRouter, Sendable {
    var limits: HTTPServerLimits { HTTPServerLimits() }

    func admit(_ head: HTTPRequest) -> BodyAdmission {
        .accept(BodyPolicy(maxBytes: 1 << 20, overflow: .text(413, "too large\n"), inspect: nil))
    }

    func dispatch(_ request: consuming HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        var body = request.body
        request.body = []
        let before = body.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let after = body.withUnsafeMutableBufferPointer { UInt(bitPattern: $0.baseAddress) }
        respond(.text(200, "\(body.count) bytes, \(before == after ? "unique" : "shared")"))
    }

    func refused(_ response: HTTPResponse) {}
}

/// A body whose first bytes declare its length gets a buffer of that size once, from the pool,
/// not one regrown chunk by chunk (which ends with up to twice the room).
@Suite struct HTTP2BodySizingTests {
    @Test func aDeclaredBodyIsReceivedIntoABufferOfItsSizeFromThePool() async throws {
        let pool = PayloadPool(limit: 4, maxBytes: 16 << 20, maxSlack: 2, idleRelease: false)
        let router = DeclaredLengthRouter(pool: pool)
        let core = ServerCore(endpoint: Endpoint(host: "127.0.0.1", port: 0), router: router, budget: RequestBudget(), tls: nil)
        try core.start()
        defer { core.shutdown(deadline: .now()) {} }
        let port = try #require(core.boundPort)
        @Sendable func declared(_ size: Int) -> [UInt8] {
            [UInt8(size >> 24 & 0xFF), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)]
                + [UInt8](repeating: 7, count: size - 4)
        }
        var spare: [UInt8] = []
        spare.reserveCapacity(700_000)
        let spareAddress = spare.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        try await blocking {
            let client = try H2TestClient(port: port)
            for size in [600_000, 100_000] {
                let response = try client.call(path: "/sized", body: declared(size))
                #expect(response.status == 200)
                #expect(response.body == Array("\(size) bytes, sized, intact".utf8))
            }
            // No declared length: regrown as before, and still intact.
            let response = try client.call(path: "/plain", body: [0, 0, 0, 0] + [UInt8](repeating: 7, count: 600_000))
            #expect(response.body == Array("600004 bytes, regrown, intact".utf8))
        }
        pool.give(spare)
        spare = []
        try await blocking {
            let response = try H2TestClient(port: port).call(path: "/sized", body: declared(600_000))
            #expect(response.status == 200)
            #expect(String(decoding: response.body, as: UTF8.self).hasPrefix("600000 bytes, "))
            #expect(String(decoding: response.body, as: UTF8.self).hasSuffix(", intact"))
        }
        #expect(router.addresses.withLock { $0.last } == spareAddress, "the pool's spare took the body")
    }
}

/// Declares a body's length in its first 4 bytes (big-endian; 0 = not declared), takes sized
/// bodies from `pool`, and answers whether the buffer it got was sized to it (less than a page
/// of room left); records each body's address.
private final class DeclaredLengthRouter: RequestRouter, Sendable {
    let pool: PayloadPool
    let addresses = Mutex<[UInt]>([])
    init(pool: PayloadPool) { self.pool = pool }

    var limits: HTTPServerLimits { HTTPServerLimits() }

    func admit(_ head: HTTPRequest) -> BodyAdmission {
        .accept(BodyPolicy(maxBytes: 1 << 20, overflow: .text(413, "too large\n"), inspect: nil, declaredBytes: { body in
            guard body.count >= 4 else { return nil }
            let length = Int(body[0]) << 24 | Int(body[1]) << 16 | Int(body[2]) << 8 | Int(body[3])
            return length > 0 ? length : nil
        }, bodyPool: pool))
    }

    func dispatch(_ request: consuming HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let body = request.body
        addresses.withLock { $0.append(body.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }) }
        let sized = body.capacity - body.count < 4096
        let intact = body.dropFirst(4).allSatisfy { $0 == 7 }
        respond(.text(200, "\(body.count) bytes, \(sized ? "sized" : "regrown"), \(intact ? "intact" : "damaged")"))
    }

    func refused(_ response: HTTPResponse) {}
}
