import CNghttp2
import Foundation
import Synchronization
import Testing
@testable import Transport

/// The bound on bytes held by unfinished requests: per HTTP/2 connection, across the process
/// (a budget of each test's own), what is refused with which status, and that every byte taken
/// comes back when requests complete or connections close.
@Suite("Request byte budget")
struct RequestBudgetTests {
    @Test func reservationsAreBoundedWithHeadroomForSmallRequests() {
        let budget = RequestBudget(limit: 1000 * 1024)
        var big = BudgetHold()
        let tookBig = big.grow(to: 900 * 1024, in: budget)
        #expect(tookBig)
        var second = BudgetHold()
        let tookSecond = second.grow(to: 300 * 1024, in: budget)
        #expect(!tookSecond, "300 KiB is not small: only the limit applies")
        #expect(second.bytes == 0 && budget.refused == 1)
        var small = BudgetHold()
        let tookSmall = small.grow(to: 200 * 1024, in: budget)
        #expect(tookSmall, "a small request may use the headroom of an eighth")
        #expect(budget.heldBytes == 1100 * 1024)
        let tookMore = small.grow(to: 250 * 1024, in: budget)
        #expect(!tookMore, "past limit + limit/8")
        big.shrink(to: 100 * 1024, in: budget)
        #expect(budget.heldBytes == 300 * 1024)
        big.release(to: budget)
        small.release(to: budget)
        #expect(budget.heldBytes == 0 && budget.refused == 2)
    }

    /// One connection opening many gRPC streams that never finish (the reported attack: 400
    /// streams of 4 MiB less a byte) holds at most its share: the streams that would pass it
    /// are answered UNAVAILABLE and reset, the held bytes are exactly those of the streams kept,
    /// and they all come back when the connection goes.
    @Test func halfSentStreamsAreBoundedPerConnection() async throws {
        let budget = RequestBudget()
        var limits = HTTPServerLimits()
        limits.maxConnectionPendingBytes = 1 << 20
        let server = GRPCServer(endpoint: Endpoint(host: "127.0.0.1", port: 0), headerLimits: limits, budget: budget) { _, respond in
            respond(GRPCResponse(status: .ok, message: nil, body: []))
        }
        try server.start()
        defer { server.shutdown(deadline: .now()) {} }
        let port = server.boundPort!
        let chunk = 256 * 1024
        let (answers, held) = try await blocking {
            let client = try H2TestClient(port: port)
            var body: [UInt8] = [0, 0, 0x40, 0, 0]  // declares a 4 MiB message
            body += [UInt8](repeating: 7, count: chunk - 5)
            let ids = (0..<8).map { _ in
                client.submit(path: "/svc/Call", headers: [("content-type", "application/grpc")], body: body, endStream: false)
            }
            // The streams' DATA interleaves: whichever would pass the share is refused.
            try client.run { client in ids.filter { client.responses[$0]?.closed == true }.count >= 4 }
            try client.pump(seconds: 0.5)
            return (ids.map { client.responses[$0] }, budget.heldBytes)
        }
        let refused = answers.filter { $0?.closed == true }
        let kept = answers.count - refused.count
        #expect(refused.count >= 4 && kept >= 1)
        #expect(held == kept * chunk, "the bytes held are exactly those of the streams kept, within the 1 MiB share")
        for answer in refused {
            #expect(answer?.grpcStatus == 14)
            #expect(answer?.grpcMessage == "server busy: too many bytes held by unfinished requests; retry later")
        }
        try await waitUntil("the closed connection's bytes come back") { budget.heldBytes == 0 }
        #expect(budget.refused == refused.count, "refusals by the connection's share count with the budget's")
    }

    /// Across connections the budget bounds the total; an ordinary small request still goes
    /// through (the headroom), a large one gets 503 with Retry-After, and a declared length
    /// reserves nothing: only bytes that arrived are held.
    @Test func theBudgetBoundsBodiesAcrossConnections() async throws {
        let budget = RequestBudget(limit: 1 << 20)
        let server = HTTPServer(endpoint: Endpoint(host: "127.0.0.1", port: 0), budget: budget, handler: describingHandler)
        try server.start()
        defer { server.shutdown(deadline: .now()) {} }
        let port = server.boundPort!
        let first = try RawHTTPClient(port: port, timeoutSeconds: 10)
        try first.send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 8000000\r\n\r\n")
        try first.send([UInt8](repeating: 1, count: 900 * 1024))
        try await waitUntil("900 KiB held, not the declared 8 MB") { budget.heldBytes == 900 * 1024 }
        let second = try RawHTTPClient(port: port, timeoutSeconds: 10)
        let refused = try await blocking {
            try second.send("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 600000\r\n\r\n")
            try second.send([UInt8](repeating: 2, count: 300 * 1024))
            return try second.readResponse()
        }
        #expect(refused.statusLine == "HTTP/1.1 503 Service Unavailable")
        #expect(refused.head.lowercased().contains("\r\nretry-after: 1\r\n"), "\(refused.head)")
        #expect(refused.bodyText == "server busy: too many bytes held by unfinished requests; retry later\n")
        #expect(budget.refused == 1)
        let small = try await blocking {
            let client = try RawHTTPClient(port: port, timeoutSeconds: 10)
            try client.send("POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 10240\r\n\r\n" + String(repeating: "z", count: 10240))
            return try client.readResponse()
        }
        #expect(small.statusLine == "HTTP/1.1 200 OK")
        #expect(small.bodyText == "POST /c 10240")
        #expect(budget.heldBytes == 900 * 1024)
        first.shutdownWrite()
        try await waitUntil("the abandoned body's bytes come back") { budget.heldBytes == 0 }
    }

    @Test func maxConcurrentStreamsIsAdvertised() async throws {
        var limits = HTTPServerLimits()
        limits.maxConcurrentStreams = 7
        let (server, port) = try startHTTPServer(limits: limits, handler: describingHandler)
        defer { server.shutdown(deadline: .now()) {} }
        let advertised = try await blocking {
            let client = try H2TestClient(port: port)
            _ = try client.call(method: "GET", path: "/x")
            return client.remoteSetting(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
        }
        #expect(advertised == 7)
    }
}
