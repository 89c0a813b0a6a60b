import CollectorTesting
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import Transport

/// The HTTP/2 and gRPC clients against our own servers on loopback (h2c).
@Suite("gRPC client (live, our server)")
struct GRPCClientTests {
    static let path = "/test.Echo/Echo"

    static func client(_ port: Int, maxResponse: Int = GRPCClient.defaultMaxResponseMessageBytes) throws -> GRPCClient {
        try GRPCClient(configuration: HTTP2ClientConfiguration(host: "127.0.0.1", port: port), maxResponseMessageBytes: maxResponse)
    }

    @Test func unaryCallsShareOneConnectionAndCarryMetadataAndTimeout() async throws {
        let seen = Mutex<[GRPCRequest]>([])
        let (server, port) = try startGRPCServer { request, respond in
            seen.withLock { $0.append(request) }
            respond(.ok(request.message.reversed()))
        }
        defer { server.shutdown(deadline: .now()) {} }
        let client = try Self.client(port)
        for round in 0..<3 {
            let answer = try await client.call(path: Self.path, message: [1, 2, UInt8(round)], metadata: ["X-Tenant": "acme"],
                                               timeout: .seconds(30))
            #expect(answer == [UInt8(round), 2, 1])
        }
        #expect(client.http2.connectionsOpened == 1)
        let request = try #require(seen.withLock { $0.first })
        #expect(request.path == Self.path)
        #expect(request.headers["x-tenant"] == "acme")
        #expect(request.headers["te"] == "trailers")
        #expect(request.headers["grpc-timeout"].map { $0.hasSuffix("u") && $0.count == 9 } == true)  // 30000000u or less
        #expect(request.headers["host"] == "127.0.0.1:\(port)")
        await client.shutdown(deadline: .now() + 5)
    }

    /// 200 calls at once against a server that allows 100 streams: the client holds 100 back
    /// (a stream beyond the limit would be refused and its call would fail).
    @Test func twoHundredCallsRespectAServerMaxOfOneHundred() async throws {
        let held = HeldResponses()
        let peak = Mutex((now: 0, max: 0))
        var limits = HTTPServerLimits()
        limits.maxConcurrentStreams = 100
        let server = GRPCServer(endpoint: Endpoint(host: "127.0.0.1", port: 0), headerLimits: limits) { request, respond in
            peak.withLock {
                $0.now += 1
                $0.max = max($0.max, $0.now)
            }
            held.hold {
                peak.withLock { $0.now -= 1 }
                respond(.ok(request.message))
            }
        }
        try server.start()
        defer { server.shutdown(deadline: .now()) {} }
        let client = try Self.client(server.boundPort!)
        let results = Mutex<[Int: Result<[UInt8], GRPCCallError>]>([:])
        for index in 0..<200 {
            client.call(path: Self.path, message: Array("\(index)".utf8), timeoutNanos: 60_000_000_000) { result in
                results.withLock { $0[index] = result }
            }
        }
        try await held.waitFor(100)
        #expect(results.withLock { $0.count } == 0)
        held.releaseAll()
        try await held.waitFor(100)
        held.releaseAll()
        try await waitUntil("200 answers", seconds: 30) { results.withLock { $0.count } == 200 }
        let answers = results.withLock { $0 }
        for index in 0..<200 {
            #expect(try answers[index]?.get() == Array("\(index)".utf8))
        }
        #expect(peak.withLock { $0.max } == 100)
        #expect(client.http2.connectionsOpened == 1)
        await client.shutdown(deadline: .now() + 5)
    }

    @Test func tenMebibytesEachWay() async throws {
        let (server, port) = try startGRPCServer(maxMessageBytes: 16 << 20) { request, respond in
            respond(.ok(request.message.reversed()))
        }
        defer { server.shutdown(deadline: .now()) {} }
        let client = try Self.client(port, maxResponse: 16 << 20)
        let big = patternBytes(10 << 20)
        let answer = try await client.call(path: Self.path, message: big, timeout: .seconds(60))
        #expect(answer.count == big.count)
        #expect(answer == big.reversed())
        await client.shutdown(deadline: .now() + 5)
    }

    @Test func gzipAndZstdRequestsAreDecodedByOurServer() async throws {
        let encodings = Mutex<[String]>([])
        let (server, port) = try startGRPCServer { request, respond in
            encodings.withLock { $0.append(request.headers["grpc-encoding"] ?? "none") }
            respond(.ok(request.message.reversed()))
        }
        defer { server.shutdown(deadline: .now()) {} }
        let client = try Self.client(port)
        let message = Array(String(repeating: "compressible ", count: 1000).utf8)
        for compression in GRPCCompression.allCases {
            #expect(try await client.call(path: Self.path, message: message, compression: compression) == message.reversed())
        }
        #expect(encodings.withLock { $0 } == ["none", "gzip", "zstd"])
        await client.shutdown(deadline: .now() + 5)
    }

    @Test func deadlineResetsTheStreamWithCancel() async throws {
        let cancelled = Mutex<RequestCancellation?>(nil)
        let (server, port) = try startHTTPServer { request, _ in
            cancelled.withLock { $0 = request.cancellation }  // never answered
        }
        defer { server.shutdown(deadline: .now()) {} }
        let client = try Self.client(port)
        let started = ContinuousClock.now
        // Long enough that the request reaches the handler first on a loaded machine (with
        // 300 ms it once did not, and no stream was there to be cancelled).
        do {
            _ = try await client.call(path: Self.path, message: [1], timeout: .seconds(2))
            Issue.record("the call should have timed out")
        } catch {
            #expect(error.status == .deadlineExceeded)
            #expect(error.isRetryable)
            #expect(error.message == "deadline exceeded for \(Self.path) on 127.0.0.1:\(port)")
        }
        #expect(ContinuousClock.now - started >= .seconds(2))
        try await waitUntil("the server sees the stream cancelled") { cancelled.withLock { $0?.isCancelled } == true }
        // The connection stays usable.
        #expect(client.http2.openConnections == 1)
        await client.shutdown(deadline: .now() + 5)
    }

    @Test func errorsFromTheServerKeepTheirStatusMessageAndRetryMeaning() async throws {
        let (server, port) = try startGRPCServer { request, respond in
            switch request.message.first {
            case 1: respond(.error(.invalidArgument, "bad span: ünïcode 100%"))
            case 2: respond(.error(.unavailable, "pipeline full"))
            default: respond(.ok([]))
            }
        }
        defer { server.shutdown(deadline: .now()) {} }
        let client = try Self.client(port)
        await #expect(throws: GRPCCallError(status: .invalidArgument, message: "bad span: ünïcode 100%")) {
            try await client.call(path: Self.path, message: [1])
        }
        do {
            _ = try await client.call(path: Self.path, message: [2])
        } catch {
            #expect(error == GRPCCallError(status: .unavailable, message: "pipeline full"))
            #expect(error.isRetryable && !error.notProcessed)
        }
        #expect(try await client.call(path: Self.path, message: [3]) == [])
        await client.shutdown(deadline: .now() + 5)
    }

    @Test func httpStatusOtherThan200IsMappedAndTooLargeResponsesFail() async throws {
        let (server, port) = try startHTTPServer { request, respond in
            switch request.target {
            case "/busy": respond(.text(503, "overloaded"))
            case "/missing": respond(.text(404, "no such method"))
            default:
                respond(HTTPResponse(status: 200, headers: ["content-type": "application/grpc"],
                                     body: GRPCFraming.frame([UInt8](repeating: 7, count: 2000)), trailers: ["grpc-status": "0"]))
            }
        }
        defer { server.shutdown(deadline: .now()) {} }
        let client = try Self.client(port, maxResponse: 1000)
        await #expect(throws: GRPCCallError(status: .unavailable, message: "HTTP status 503: overloaded")) {
            try await client.call(path: "/busy", message: [1])
        }
        await #expect(throws: GRPCCallError(status: .unimplemented, message: "HTTP status 404: no such method")) {
            try await client.call(path: "/missing", message: [1])
        }
        do {
            _ = try await client.call(path: "/big", message: [1])
        } catch {
            #expect(error.status == .resourceExhausted && !error.isRetryable)
            #expect(error.message == "the response from 127.0.0.1:\(port) is larger than 1005 bytes")
        }
        await client.shutdown(deadline: .now() + 5)
    }

    /// Nothing listening: UNAVAILABLE (not processed); the next call connects again, and
    /// succeeds once a server is there.
    @Test func reconnectsOnDemandAfterAFailureOrAClose() async throws {
        let port = try FreePort.allocate()
        let client = try Self.client(port)
        do {
            _ = try await client.call(path: Self.path, message: [1])
        } catch {
            #expect(error.status == .unavailable && error.isRetryable && error.notProcessed)
            #expect(error.message == "cannot connect to 127.0.0.1:\(port): Connection refused")
        }
        let first = GRPCServer(endpoint: Endpoint(host: "127.0.0.1", port: port)) { request, respond in respond(.ok([1])) }
        try first.start()
        #expect(try await client.call(path: Self.path, message: [1]) == [1])
        await first.shutdown(deadline: .now() + 5)  // GOAWAY and close
        try await waitUntil("the client sees the close") { client.http2.openConnections == 0 }
        let second = GRPCServer(endpoint: Endpoint(host: "127.0.0.1", port: port)) { request, respond in respond(.ok([2])) }
        try second.start()
        defer { second.shutdown(deadline: .now()) {} }
        #expect(try await client.call(path: Self.path, message: [1]) == [2])
        #expect(client.http2.connectionsOpened == 3)
        await client.shutdown(deadline: .now() + 5)
    }

    /// Shutdown lets the call in flight finish, then refuses new calls (not retryable).
    @Test func cleanShutdown() async throws {
        let held = HeldResponses()
        let (server, port) = try startGRPCServer { request, respond in
            held.hold { respond(.ok(request.message)) }
        }
        defer { server.shutdown(deadline: .now()) {} }
        let client = try Self.client(port)
        let answer = Mutex<Result<[UInt8], GRPCCallError>?>(nil)
        client.call(path: Self.path, message: [5]) { result in answer.withLock { $0 = result } }
        try await held.waitFor(1)
        let done = Mutex(false)
        client.http2.shutdown(deadline: .now() + 30) { done.withLock { $0 = true } }
        do {
            _ = try await client.call(path: Self.path, message: [6])
        } catch {
            #expect(error.status == .cancelled && !error.isRetryable)
            #expect(error.message == "the HTTP/2 client is shut down")
        }
        #expect(!done.withLock { $0 })
        held.releaseAll()
        try await waitUntil("shutdown completes") { done.withLock { $0 } }
        #expect(try answer.withLock { $0 }?.get() == [5])
        #expect(client.http2.openConnections == 0)
        try await waitUntil("the server sees the connection closed") { server.connectionCount == 0 }
    }
}
