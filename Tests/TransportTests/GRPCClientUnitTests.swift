import Testing
@testable import Transport

/// The gRPC client's pure parts: `grpc-timeout`, status details (RetryInfo), the retry table,
/// HTTP status mapping, and response interpretation.
@Suite("gRPC client (unit)")
struct GRPCClientUnitTests {
    @Test func timeoutHeaderUsesAtMostEightDigitsAndRoundsUp() {
        #expect(GRPCClient.timeoutHeader(nanos: 0) == "0n")
        #expect(GRPCClient.timeoutHeader(nanos: 99_999_999) == "99999999n")
        #expect(GRPCClient.timeoutHeader(nanos: 100_000_000) == "100000u")
        #expect(GRPCClient.timeoutHeader(nanos: 5_000_000_001) == "5000001u")
        #expect(GRPCClient.timeoutHeader(nanos: 30_000_000_000) == "30000000u")
        #expect(GRPCClient.timeoutHeader(nanos: 200_000_000_000) == "200000m")
        #expect(GRPCClient.timeoutHeader(nanos: 100_000_000 * 1_000_000_000) == "1666667M")
        #expect(GRPCClient.timeoutHeader(nanos: .max) == "5124096H")
        #expect(GRPCClient.nanoseconds(.milliseconds(1500)) == 1_500_000_000)
    }

    /// google.rpc.Status{code: 8, message: "slow down", details: [Any(RetryInfo{2.5 s}), Any(other)]}.
    static let statusWithRetryInfo: [UInt8] = {
        let duration: [UInt8] = [0x08, 0x02, 0x10] + varint(500_000_000)
        let retryInfo: [UInt8] = [0x0A, UInt8(duration.count)] + duration
        let any1 = field(1, Array("type.googleapis.com/google.rpc.RetryInfo".utf8)) + field(2, retryInfo)
        let any2 = field(1, Array("type.googleapis.com/google.rpc.DebugInfo".utf8)) + field(2, [0x12, 0x01, 0x78])
        return [0x08, 0x08] + field(2, Array("slow down".utf8)) + field(3, any1) + field(3, any2)
    }()

    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value, out: [UInt8] = []
        while value >= 0x80 {
            out.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        return out + [UInt8(value)]
    }

    static func field(_ number: UInt8, _ payload: [UInt8]) -> [UInt8] {
        [number << 3 | 2] + varint(UInt64(payload.count)) + payload
    }

    static func base64(_ bytes: [UInt8], padded: Bool) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        var index = 0
        while index < bytes.count {
            let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
            let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * UInt32($1.offset)) }
            for position in 0...chunk.count { out.append(alphabet[Int(value >> (18 - 6 * UInt32(position)) & 63)]) }
            if padded { out += String(repeating: "=", count: 3 - chunk.count) }
            index += 3
        }
        return out
    }

    @Test func statusDetailsGiveTheRetryDelayPaddedOrNot() throws {
        for padded in [true, false] {
            let details = try #require(GRPCStatusDetails(headerValue: Self.base64(Self.statusWithRetryInfo, padded: padded)))
            #expect(details.code == 8)
            #expect(details.message == "slow down")
            #expect(details.detailTypes == ["type.googleapis.com/google.rpc.RetryInfo", "type.googleapis.com/google.rpc.DebugInfo"])
            #expect(details.retryDelayNanos == 2_500_000_000)
        }
        #expect(GRPCStatusDetails(headerValue: "not base64!") == nil)
        #expect(GRPCStatusDetails(status: [0x0A, 0x05, 0x41]) == nil)  // truncated field
        let withoutRetry = try #require(GRPCStatusDetails(status: [0x08, 0x0E]))
        #expect(withoutRetry.code == 14 && withoutRetry.retryDelayNanos == nil)
    }

    @Test func retryMeaningIsOTLPs() {
        let retryable = GRPCStatusCode.allCases.filter { GRPCCallError.isRetryable($0, hasRetryInfo: false) }
        #expect(retryable == [.cancelled, .deadlineExceeded, .aborted, .outOfRange, .unavailable, .dataLoss])
        #expect(GRPCCallError.isRetryable(.resourceExhausted, hasRetryInfo: true))
        #expect(!GRPCCallError.isRetryable(.invalidArgument, hasRetryInfo: true))
        #expect(GRPCCallError(HTTP2ClientError(.refused, "r")) == GRPCCallError(status: .unavailable, message: "r", notProcessed: true))
        #expect(GRPCCallError(HTTP2ClientError(.reset(8), "c")).status == .cancelled)
        #expect(GRPCCallError(HTTP2ClientError(.reset(11), "e")).status == .resourceExhausted)
        #expect(GRPCCallError(HTTP2ClientError(.reset(2), "i")).status == .internal)
        #expect(GRPCCallError(HTTP2ClientError(.connect, "x")).isRetryable)
        let shutdown = GRPCCallError(HTTP2ClientError(.shutdown, "s"))
        #expect(shutdown.status == .cancelled && !shutdown.isRetryable)
    }

    @Test func httpStatusesMapAsGRPCDoes() {
        let mapped = [400, 401, 403, 404, 429, 500, 502, 503, 504].map { GRPCCallError.status(forHTTPStatus: $0) }
        #expect(mapped == [.internal, .unauthenticated, .permissionDenied, .unimplemented, .unavailable, .unknown,
                           .unavailable, .unavailable, .unavailable])
    }

    @Test func interpretsNormalTrailersOnlyAndBrokenResponses() throws {
        let grpc: HTTPHeaders = ["content-type": "application/grpc"]
        let ok = HTTPResponse(status: 200, headers: grpc, body: GRPCFraming.frame([1, 2]), trailers: ["grpc-status": "0"])
        #expect(try GRPCClient.interpret(ok, limit: 10).get() == [1, 2])
        let gzipped = HTTPResponse(status: 200, headers: ["content-type": "application/grpc", "grpc-encoding": "gzip"],
                                          body: GRPCFraming.frame(Gzip.compress([9, 8, 7]), compressed: true),
                                          trailers: ["grpc-status": "0"])
        #expect(try GRPCClient.interpret(gzipped, limit: 10).get() == [9, 8, 7])
        var only = grpc
        only.add(name: "grpc-status", value: "3")
        only.add(name: "grpc-message", value: "bad %C3%BC")
        #expect(GRPCClient.interpret(HTTPResponse(status: 200, headers: only), limit: 10)
            == .failure(GRPCCallError(status: .invalidArgument, message: "bad ü")))
        let noStatus = HTTPResponse(status: 200, headers: grpc, body: GRPCFraming.frame([1]))
        #expect(GRPCClient.interpret(noStatus, limit: 10)
            == .failure(GRPCCallError(status: .internal, message: "server closed the stream without grpc-status")))
        let empty = HTTPResponse(status: 200, headers: grpc, trailers: ["grpc-status": "0"])
        #expect(GRPCClient.interpret(empty, limit: 10)
            == .failure(GRPCCallError(status: .internal, message: "no response message from a unary call")))
        let big = HTTPResponse(status: 200, headers: grpc, body: GRPCFraming.frame([UInt8](repeating: 1, count: 11)),
                                      trailers: ["grpc-status": "0"])
        #expect(GRPCClient.interpret(big, limit: 10)
            == .failure(GRPCCallError(status: .resourceExhausted, message: "received message larger than max (11 vs. 10)")))
        let unavailable = HTTPResponse(status: 503, headers: ["content-type": "text/plain"], body: Array("busy".utf8))
        #expect(GRPCClient.interpret(unavailable, limit: 10)
            == .failure(GRPCCallError(status: .unavailable, message: "HTTP status 503: busy")))
        let html = HTTPResponse(status: 200, headers: ["content-type": "text/html"])
        #expect(GRPCClient.interpret(html, limit: 10)
            == .failure(GRPCCallError(status: .unknown, message: "unexpected content-type \"text/html\"")))
    }

    @Test func zstdRoundTripAndLimit() throws {
        let data = patternBytes(300_000) + [UInt8](repeating: 0, count: 300_000)
        let compressed = ZstdCodec.compress(data)
        #expect(compressed.count < data.count)
        #expect(try ZstdCodec.decompress(compressed, limit: data.count) == data)
        #expect(throws: GzipError.self) { try ZstdCodec.decompress(compressed, limit: data.count - 1) }
        #expect(throws: GzipError.self) { try ZstdCodec.decompress(compressed.dropLast(3), limit: data.count) }
        #expect(throws: GzipError.self) { try ZstdCodec.decompress([1, 2, 3, 4], limit: 100) }
    }
}
