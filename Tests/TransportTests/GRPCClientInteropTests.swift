import CollectorTesting
import Dispatch
import Foundation
import Synchronization
import Testing
import TLSSettings
@testable import Transport

/// The gRPC client against servers that are not ours: Python grpcio
/// (`Tests/EndToEndTests/clients/grpc_test_server.py`) and a scripted server on the `h2`
/// library for GOAWAY and connection loss (`h2_goaway_server.py`). Needs `make venv`.
@Suite("gRPC client interop (Python)", .serialized)
struct GRPCClientInteropTests {
    /// A running Python server and its port; killed when the value goes away.
    struct PythonServer {
        let process: ManagedProcess
        let port: Int

        init(_ script: String, _ args: [String] = []) async throws {
            process = try PythonClient.start(script: script, args: args)
            let output = try await process.waitForOutput(containing: "PORT ", in: .stdout, timeout: .seconds(30))
            let line = output.split(separator: "\n").first { $0.hasPrefix("PORT ") }
            port = try #require(line.flatMap { Int($0.dropFirst(5)) })
        }
    }

    static func client(_ port: Int, tls: TLSClientSettings? = nil, maxResponse: Int = 4 << 20) throws -> GRPCClient {
        try GRPCClient(configuration: HTTP2ClientConfiguration(host: "localhost", port: port, tls: tls),
                       maxResponseMessageBytes: maxResponse)
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func unaryMetadataAndErrors() async throws {
        let server = try await PythonServer("grpc_test_server.py")
        let client = try Self.client(server.port)
        #expect(try await client.call(path: "/test.Echo/Echo", message: [1, 2, 3]) == [3, 2, 1])
        let meta = try await client.call(path: "/test.Echo/Meta", message: [], metadata: ["X-Tenant": "acme", "x-b": "2"])
        #expect(Self.text(meta) == "x-tenant=acme\nx-b=2")
        await #expect(throws: GRPCCallError(status: .invalidArgument, message: "bad span")) {
            try await client.call(path: "/test.Echo/Fail", message: Array("INVALID_ARGUMENT bad span".utf8))
        }
        do {
            _ = try await client.call(path: "/test.Echo/Fail", message: Array("UNAVAILABLE try later".utf8))
        } catch {
            #expect(error == GRPCCallError(status: .unavailable, message: "try later") && error.isRetryable)
        }
        await #expect(throws: GRPCCallError(status: .unimplemented, message: "Method not found!")) {
            try await client.call(path: "/test.Echo/Nope", message: [])
        }
        await client.shutdown(deadline: .now() + 5)
    }

    @Test func resourceExhaustedWithRetryInfoIsRetryableAfterTheDelay() async throws {
        let server = try await PythonServer("grpc_test_server.py")
        let client = try Self.client(server.port)
        do {
            _ = try await client.call(path: "/test.Echo/Retry", message: Array("2.500000000".utf8))
            Issue.record("Retry should fail")
        } catch {
            #expect(error.status == .resourceExhausted)
            #expect(error.message == "slow down")
            #expect(error.isRetryable)
            #expect(error.retryDelayNanos == 2_500_000_000)
            #expect(error.details?.detailTypes == ["type.googleapis.com/google.rpc.RetryInfo"])
        }
        await #expect(throws: GRPCCallError(status: .resourceExhausted, message: "quota")) {
            try await client.call(path: "/test.Echo/Fail", message: Array("RESOURCE_EXHAUSTED quota".utf8))
        }
        await client.shutdown(deadline: .now() + 5)
    }

    /// 200 calls at once, server max 100: every call reaches a barrier of 100 and reports the
    /// peak it saw, which is exactly 100 (a stream over the limit would have been refused).
    @Test func twoHundredConcurrentCallsWithAServerMaxOfOneHundred() async throws {
        let server = try await PythonServer("grpc_test_server.py", ["--max-streams", "100", "--barrier", "100"])
        let client = try Self.client(server.port)
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<200 {
                group.addTask { Self.text(try await client.call(path: "/test.Echo/Barrier", message: [], timeout: .seconds(60))) }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(answers.count == 200)
        #expect(Set(answers) == ["100"])
        #expect(client.http2.connectionsOpened == 1)
        await client.shutdown(deadline: .now() + 5)
    }

    @Test func tenMebibytesEachWayAndGzip() async throws {
        let server = try await PythonServer("grpc_test_server.py", ["--max-message-bytes", "\(16 << 20)", "--gzip"])
        let client = try Self.client(server.port, maxResponse: 16 << 20)
        let big = patternBytes(10 << 20)
        #expect(try await client.call(path: "/test.Echo/Echo", message: big, timeout: .seconds(60)) == big.reversed())
        let sized = try await client.call(path: "/test.Echo/Size", message: Array("\(10 << 20)".utf8), timeout: .seconds(60))
        #expect(sized.count == 10 << 20)
        #expect(sized.enumerated().allSatisfy { $0.element == UInt8(($0.offset * 7 + 3) % 256) })
        let text = Array(String(repeating: "gzip me ", count: 5000).utf8)
        #expect(try await client.call(path: "/test.Echo/Echo", message: text, compression: .gzip) == text.reversed())
        await client.shutdown(deadline: .now() + 5)
    }

    @Test func deadlineCancelsTheCallOnTheServer() async throws {
        let server = try await PythonServer("grpc_test_server.py")
        let client = try Self.client(server.port)
        do {
            _ = try await client.call(path: "/test.Echo/Hold", message: [], timeout: .milliseconds(500))
            Issue.record("Hold should time out")
        } catch {
            #expect(error.status == .deadlineExceeded && error.isRetryable)
        }
        // grpcio saw the cancellation (our RST_STREAM CANCEL, or its own grpc-timeout).
        var stats = ""
        for _ in 0..<200 where stats != "cancelled=1" {
            stats = Self.text(try await client.call(path: "/test.Echo/Stats", message: []))
            if stats != "cancelled=1" { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(stats == "cancelled=1")
        await client.shutdown(deadline: .now() + 5)
    }

    @Test func tlsWithALPNMutualTLSAndAWrongCA() async throws {
        let certs = try TestCertificates()
        let pair = try certs.issue("server", commonName: "python server")
        let identity = try certs.issue("client", commonName: "agent", client: true)
        let server = try await PythonServer("grpc_test_server.py",
                                            ["--tls", pair.certFile, pair.keyFile, "--client-ca", certs.caFile()])
        var tls = TLSClientSettings()
        tls.caFile = certs.caFile()
        tls.certFile = identity.certFile
        tls.keyFile = identity.keyFile
        let client = try Self.client(server.port, tls: tls)
        #expect(try await client.call(path: "/test.Echo/Echo", message: [4, 5]) == [5, 4])
        await client.shutdown(deadline: .now() + 5)

        var anonymous = TLSClientSettings()
        anonymous.caFile = certs.caFile()
        let withoutCertificate = try Self.client(server.port, tls: anonymous)
        await #expect { try await withoutCertificate.call(path: "/test.Echo/Echo", message: [1], timeout: .seconds(20)) }
            throws: { ($0 as? GRPCCallError)?.status == .unavailable }
        var wrong = tls
        wrong.caFile = certs.caFile(.other)
        let wrongCA = try Self.client(server.port, tls: wrong)
        do {
            _ = try await wrongCA.call(path: "/test.Echo/Echo", message: [1], timeout: .seconds(20))
            Issue.record("a server certificate from another CA was accepted")
        } catch {
            #expect(error.status == .unavailable && error.notProcessed)
            #expect(error.message.contains("certificate verification failed"), "\(error.message)")
        }
    }

    /// GOAWAY after 4 requests with the last stream id of the second: the first two are
    /// answered on connection 1, the other two fail as not processed, and sent again they are
    /// answered on a new connection.
    @Test func goAwayMidwayAndTheUnprocessedCallsRetried() async throws {
        let server = try await PythonServer("h2_goaway_server.py", ["--mode", "goaway", "--streams", "4", "--answer", "2"])
        let client = try Self.client(server.port)
        let results = await withTaskGroup(of: (Int, Result<[UInt8], GRPCCallError>).self) { group in
            for index in 0..<4 {
                group.addTask {
                    do throws(GRPCCallError) {
                        return (index, .success(try await client.call(path: "/t.S/M", message: Array("m\(index)".utf8))))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            return await group.reduce(into: [Int: Result<[UInt8], GRPCCallError>]()) { $0[$1.0] = $1.1 }
        }
        let answered = results.values.compactMap { try? $0.get() }.map(Self.text).sorted()
        #expect(answered.count == 2)
        #expect(answered.allSatisfy { $0.hasPrefix("conn1 stream") }, "\(answered)")
        let refused = results.filter { if case .failure = $0.value { true } else { false } }
        #expect(refused.count == 2)
        for (index, result) in refused {
            guard case .failure(let error) = result else { continue }
            #expect(error.status == .unavailable && error.notProcessed && error.isRetryable, "\(error)")
            let again = try await client.call(path: "/t.S/M", message: Array("m\(index)".utf8))
            #expect(Self.text(again).hasPrefix("conn2 stream") && Self.text(again).hasSuffix(" m\(index)"))
        }
        #expect(client.http2.connectionsOpened == 2)
        await client.shutdown(deadline: .now() + 5)
    }

    /// The server closes the connection with requests in flight: they fail as retryable
    /// (UNAVAILABLE; the server may have seen them) and succeed on a new connection.
    @Test func serverClosingTheConnection() async throws {
        let server = try await PythonServer("h2_goaway_server.py", ["--mode", "close", "--streams", "3"])
        let client = try Self.client(server.port)
        let failures = await withTaskGroup(of: GRPCCallError?.self) { group in
            for index in 0..<3 {
                group.addTask {
                    do throws(GRPCCallError) {
                        _ = try await client.call(path: "/t.S/M", message: [UInt8(index)])
                        return nil
                    } catch { return error }
                }
            }
            return await group.reduce(into: [GRPCCallError?]()) { $0.append($1) }
        }
        #expect(failures.count == 3)
        for failure in failures {
            #expect(failure?.status == .unavailable && failure?.isRetryable == true && failure?.notProcessed == false)
            #expect(failure?.message == "connection closed by localhost:\(server.port)")
        }
        #expect(Self.text(try await client.call(path: "/t.S/M", message: Array("again".utf8))).hasSuffix(" again"))
        #expect(client.http2.connectionsOpened == 2)
        await client.shutdown(deadline: .now() + 5)
    }

    /// REFUSED_STREAM on a healthy connection: the call is sent again on the same connection
    /// (it was not processed), up to 10 times; then it fails as not processed.
    @Test func refusedStreamsAreSentAgainAFewTimes() async throws {
        let server = try await PythonServer("h2_goaway_server.py", ["--mode", "refuse", "--refuse", "14"])
        let client = try Self.client(server.port)
        await #expect(throws: GRPCCallError(status: .unavailable,
                                            message: "not processed: localhost:\(server.port) refused the stream; send it again",
                                            notProcessed: true)) {
            try await client.call(path: "/t.S/M", message: Array("first".utf8))
        }
        // 11 refusals used (1 + 10 attempts again); the next call is refused 3 times, then
        // answered on the same connection, as stream 11 + 4 = 15th, id 29.
        #expect(Self.text(try await client.call(path: "/t.S/M", message: Array("second".utf8))) == "conn1 stream29 second")
        #expect(client.http2.connectionsOpened == 1)
        await client.shutdown(deadline: .now() + 5)
    }
}
