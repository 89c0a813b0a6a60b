import Dispatch
import Foundation
import Synchronization
import Testing
@testable import Transport

@Suite("gRPC server (live)")
struct GRPCServerTests {
    static let exportPath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

    /// Echoes the message reversed; answers UNIMPLEMENTED for unknown methods.
    static let handler: GRPCHandler = { request, respond in
        guard request.path == exportPath else {
            respond(.error(.unimplemented, "unknown method \(request.path)"))
            return
        }
        respond(.ok(request.message.reversed()))
    }

    @Test func unarySuccess() async throws {
        let seen = Mutex<GRPCRequest?>(nil)
        let (server, port) = try startGRPCServer { request, respond in
            seen.withLock { $0 = request }
            Self.handler(request, respond)
        }
        defer { server.shutdown(deadline: .now()) {} }
        let response = try await blocking {
            try H2TestClient(port: port).grpc(path: Self.exportPath, message: [1, 2, 3, 4], headers: [("x-meta", "v")])
        }
        #expect(response.headers.map { $0.0 } == [":status", "content-type", "grpc-accept-encoding"])
        #expect(response.status == 200)
        #expect(response.header("content-type") == "application/grpc")
        #expect(response.body == [0, 0, 0, 0, 4, 4, 3, 2, 1])
        #expect(response.trailers.map { "\($0.0): \($0.1)" } == ["grpc-status: 0"])
        let request = try #require(seen.withLock { $0 })
        #expect(request.path == Self.exportPath)
        #expect(request.methodName == "Export")
        #expect(request.service == "opentelemetry.proto.collector.trace.v1.TraceService")
        #expect(request.message == [1, 2, 3, 4])
        #expect(request.headers["x-meta"] == "v")
        #expect(request.remoteAddress.hasPrefix("127.0.0.1:"))
    }

    @Test func trailersOnlyErrorWithPercentEncodedMessage() async throws {
        let (server, port) = try startGRPCServer { _, respond in
            respond(.error(.unavailable, "pipeline full: 100% ünïcode\nretry"))
        }
        defer { server.shutdown(deadline: .now()) {} }
        let response = try await blocking { try H2TestClient(port: port).grpc(path: Self.exportPath, message: [1]) }
        #expect(response.headers.map { "\($0.0): \($0.1)" } == [
            ":status: 200", "content-type: application/grpc", "grpc-status: 14",
            "grpc-message: pipeline full: 100%25 %C3%BCn%C3%AFcode%0Aretry",
        ])
        #expect(response.trailers.isEmpty)
        #expect(response.body.isEmpty)
        #expect(GRPCFraming.percentDecode(response.grpcMessage!) == "pipeline full: 100% ünïcode\nretry")
    }

    @Test func oversizeMessageIsResourceExhaustedAndTheConnectionKeepsServing() async throws {
        let (server, port) = try startGRPCServer(handler: Self.handler)
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try H2TestClient(port: port)
            let big = try client.grpc(path: Self.exportPath, message: patternBytes(5 << 20))
            #expect(big.grpcStatus == 8)
            #expect(big.grpcMessage == "grpc: received message larger than max (5242880 vs. 4194304)")
            #expect(big.header(":status") == "200")
            #expect(big.resetCode == nil || big.resetCode == 0)  // NO_ERROR reset stops the upload
            let small = try client.grpc(path: Self.exportPath, message: [7, 8])
            #expect(small.grpcStatus == 0)
            #expect(small.grpcMessageBytes == [8, 7])
            // Exactly at the limit is accepted.
            let exact = try client.grpc(path: Self.exportPath, message: patternBytes(4 << 20))
            #expect(exact.grpcStatus == 0)
            #expect(exact.grpcMessageBytes == patternBytes(4 << 20).reversed())
        }
    }

    @Test func setMaxMessageBytesAppliesToNewCalls() async throws {
        let (server, port) = try startGRPCServer(maxMessageBytes: 100, handler: Self.handler)
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try H2TestClient(port: port)
            #expect(try client.grpc(path: Self.exportPath, message: patternBytes(200)).grpcMessage
                == "grpc: received message larger than max (200 vs. 100)")
            server.setMaxMessageBytes(1000)
            #expect(try client.grpc(path: Self.exportPath, message: patternBytes(200)).grpcStatus == 0)
            server.setHandler { _, respond in respond(.error(.unimplemented, "")) }
            #expect(try client.grpc(path: Self.exportPath, message: [1]).grpcStatus == 12)
        }
    }

    @Test func gzipCompressedMessages() async throws {
        let (server, port) = try startGRPCServer(maxMessageBytes: 1 << 20, handler: Self.handler)
        defer { server.shutdown(deadline: .now()) {} }
        let message = Array(String(repeating: "span data ", count: 1000).utf8)
        try await blocking {
            let client = try H2TestClient(port: port)
            let ok = try client.grpc(path: Self.exportPath, message: Gzip.compress(message), compressed: true,
                                     headers: [("grpc-encoding", "gzip")])
            #expect(ok.grpcStatus == 0)
            #expect(ok.grpcMessageBytes == message.reversed())

            let bomb = Gzip.compress([UInt8](repeating: 0, count: 8 << 20))
            let refused = try client.grpc(path: Self.exportPath, message: bomb, compressed: true, headers: [("grpc-encoding", "gzip")])
            #expect(refused.grpcStatus == 8)
            #expect(refused.grpcMessage == "grpc: received message after decompression larger than max (1048576)")

            let unknown = try client.grpc(path: Self.exportPath, message: [1], compressed: true, headers: [("grpc-encoding", "snappy")])
            #expect(unknown.grpcStatus == 12)
            #expect(unknown.grpcMessage == "grpc: Decompressor is not installed for grpc-encoding \"snappy\"")

            let none = try client.grpc(path: Self.exportPath, message: [1], compressed: true)
            #expect(none.grpcStatus == 13)

            let corrupt = try client.grpc(path: Self.exportPath, message: [1, 2, 3], compressed: true, headers: [("grpc-encoding", "gzip")])
            #expect(corrupt.grpcStatus == 13)
        }
    }

    @Test func malformedRequests() async throws {
        let (server, port) = try startGRPCServer(handler: Self.handler)
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try H2TestClient(port: port)
            let truncated = try client.call(path: Self.exportPath, headers: [("content-type", "application/grpc")], body: [0, 0, 0, 0, 9, 1])
            #expect(truncated.grpcStatus == 13)
            #expect(truncated.grpcMessage == "grpc: truncated message (1 of 9 bytes)")
            let empty = try client.call(path: Self.exportPath, headers: [("content-type", "application/grpc")])
            #expect(empty.grpcStatus == 13)
            let two = try client.call(path: Self.exportPath, headers: [("content-type", "application/grpc+proto")],
                                      body: [0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 2])
            #expect(two.grpcStatus == 13)
            let json = try client.call(path: Self.exportPath, headers: [("content-type", "application/json")], body: [1])
            #expect(json.status == 415)
            let get = try client.call(method: "GET", path: Self.exportPath, headers: [("content-type", "application/grpc")])
            #expect(get.status == 405)
            let unknownMethod = try client.grpc(path: "/no.Such/Method", message: [])
            #expect(unknownMethod.grpcStatus == 12)
            #expect(unknownMethod.grpcMessage == "unknown method /no.Such/Method")
        }
    }

    @Test func hundredConcurrentCallsAnsweredOutOfOrder() async throws {
        let (server, port) = try startGRPCServer { request, respond in
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int.random(in: 0...150))) {
                respond(.ok(request.message + Array(request.path.utf8)))
            }
        }
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try H2TestClient(port: port)
            let ids = (0..<100).map { index in
                client.submit(path: "/svc/M\(index)", headers: [("content-type", "application/grpc")],
                              body: GRPCFraming.frame([UInt8(index)]))
            }
            try client.wait(for: ids)
            for (index, id) in ids.enumerated() {
                let response = client.responses[id]!
                #expect(response.grpcStatus == 0)
                #expect(response.grpcMessageBytes == [UInt8(index)] + Array("/svc/M\(index)".utf8))
            }
        }
    }

    @Test func nghttpClientInterop() async throws {
        let (server, port) = try startGRPCServer(handler: Self.handler)
        defer { server.shutdown(deadline: .now()) {} }
        let file = try temporaryFile(GRPCFraming.frame(Array("abc".utf8)))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (status, output, errors) = try await blocking {
            try run("/usr/bin/nghttp", ["-v", "-n", "--no-dep", "-H", ":method: POST", "-H", "content-type: application/grpc",
                                        "-H", "te: trailers", "-d", file, "http://127.0.0.1:\(port)\(Self.exportPath)"])
        }
        #expect(status == 0, "\(errors)")
        let received = Self.receivedLines(output)
        #expect(received == [":status: 200", "content-type: application/grpc", "grpc-accept-encoding: gzip,zstd", "grpc-status: 0"])
        #expect(output.contains("recv DATA frame <length=8, flags=0x00, stream_id=1>"))
        #expect(output.contains("recv HEADERS frame <length=") && output.contains("; END_STREAM | END_HEADERS"))

        let error = try await blocking {
            try run("/usr/bin/nghttp", ["-v", "-n", "--no-dep", "-H", ":method: POST", "-H", "content-type: application/grpc",
                                        "-d", file, "http://127.0.0.1:\(port)/other.Service/Call"])
        }
        #expect(Self.receivedLines(error.1) == [
            ":status: 200", "content-type: application/grpc", "grpc-status: 12",
            "grpc-message: unknown method /other.Service/Call",
        ])
    }

    /// The header lines nghttp printed as received, without the stream prefix.
    static func receivedLines(_ output: String) -> [String] {
        output.split(separator: "\n").compactMap { line -> String? in
            guard let range = line.range(of: "recv (stream_id=1) ") else { return nil }
            return String(line[range.upperBound...])
        }
    }

    @Test func http1RequestsAreRefused() async throws {
        let (server, port) = try startGRPCServer(handler: Self.handler)
        defer { server.shutdown(deadline: .now()) {} }
        try await blocking {
            let client = try RawHTTPClient(port: port)
            try client.send("POST /svc/M HTTP/1.1\r\nHost: x\r\nContent-Type: application/grpc\r\nContent-Length: 0\r\n\r\n")
            #expect(try client.readResponse().statusLine == "HTTP/1.1 505 HTTP Version Not Supported")
        }
    }
}
