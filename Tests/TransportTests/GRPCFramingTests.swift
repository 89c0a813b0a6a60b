import Testing
@testable import Transport

@Suite("gRPC framing")
struct GRPCFramingTests {
    @Test func percentEncoding() {
        #expect(GRPCFraming.percentEncode("plain text: ok") == "plain text: ok")
        #expect(GRPCFraming.percentEncode("100% sure\n") == "100%25 sure%0A")
        #expect(GRPCFraming.percentEncode("ünï") == "%C3%BCn%C3%AF")
        #expect(GRPCFraming.percentDecode("%C3%BCn%C3%AF 100%25") == "ünï 100%")
        #expect(GRPCFraming.percentDecode("bad %zz %4") == "bad %zz %4")
    }

    @Test func frameLayout() {
        #expect(GRPCFraming.frame([0xAA, 0xBB]) == [0, 0, 0, 0, 2, 0xAA, 0xBB])
        #expect(GRPCFraming.frame([], compressed: true) == [1, 0, 0, 0, 0])
        #expect(GRPCFraming.declaredLength([0, 0x01, 0x02, 0x03, 0x04]) == 0x0102_0304)
    }

    @Test func contentTypes() {
        #expect(GRPCFraming.isGRPCContentType("application/grpc"))
        #expect(GRPCFraming.isGRPCContentType("application/grpc+proto"))
        #expect(GRPCFraming.isGRPCContentType("Application/GRPC; charset=utf-8"))
        #expect(!GRPCFraming.isGRPCContentType("application/grpc-web"))
        #expect(!GRPCFraming.isGRPCContentType("application/json"))
        #expect(!GRPCFraming.isGRPCContentType(nil))
    }

    @Test func inspectRefusesOversizeFromThePrefix() {
        let response = GRPCFraming.inspectUnary([0, 0, 0x50, 0, 0], max: 4 << 20)
        #expect(response?.headers["grpc-status"] == "8")
        #expect(response?.headers["grpc-message"] == "grpc: received message larger than max (5242880 vs. 4194304)")
        #expect(GRPCFraming.inspectUnary([0, 0, 0x40, 0, 0], max: 4 << 20) == nil)
        #expect(GRPCFraming.inspectUnary([0, 0, 0x50], max: 4 << 20) == nil)
        #expect(GRPCFraming.inspectUnary([0, 0, 0, 0, 1, 9, 0], max: 10)?.headers["grpc-status"] == "13")
    }

    @Test func unaryMessageErrors() {
        func message(_ body: [UInt8]) -> String? {
            if case .failure(let error) = GRPCFraming.unaryMessage(body) { return "\(error.status) \(error.message)" }
            return nil
        }
        #expect(message([]) == "INTERNAL grpc: request has no message")
        #expect(message([0, 0]) == "INTERNAL grpc: truncated message prefix (2 bytes)")
        #expect(message([0, 0, 0, 0, 3, 1]) == "INTERNAL grpc: truncated message (1 of 3 bytes)")
        #expect(message([0, 0, 0, 0, 1, 1, 0]) == "INTERNAL grpc: unary request carries more than one message")
        #expect(message([0, 0, 0, 0, 1, 7]) == nil)
    }

    @Test func responseLayouts() {
        let ok = GRPCFraming.httpResponse(for: .ok([1, 2, 3]))
        #expect(ok.status == 200)
        #expect(ok.headers == ["content-type": "application/grpc", "grpc-accept-encoding": "gzip,zstd"])
        #expect(ok.body == [0, 0, 0, 0, 3, 1, 2, 3])
        #expect(ok.trailers == ["grpc-status": "0"])

        let failure = GRPCFraming.httpResponse(for: .error(.unavailable, "queue full: 100%"))
        #expect(failure.headers == ["content-type": "application/grpc", "grpc-status": "14", "grpc-message": "queue full: 100%25"])
        #expect(failure.body.isEmpty)
        #expect(failure.trailers.isEmpty)
    }

    @Test func statusCodes() {
        #expect(GRPCStatusCode.allCases.map(\.rawValue) == Array(0...16))
        #expect(GRPCStatusCode.resourceExhausted.description == "RESOURCE_EXHAUSTED")
    }

    @Test func decodeMessageHandlesEncodings() throws {
        let payload = Array("compressed payload".utf8)
        func request(_ body: [UInt8], encoding: String?) -> HTTPRequest {
            var headers: HTTPHeaders = ["content-type": "application/grpc"]
            if let encoding { headers.add(name: "grpc-encoding", value: encoding) }
            return HTTPRequest(method: "POST", target: "/s/M", version: .http2, headers: headers, body: body)
        }
        let gz = GRPCFraming.frame(Gzip.compress(payload), compressed: true)
        #expect(try GRPCRouter.decodeMessage(request(gz, encoding: "gzip"), max: 100).get() == payload)
        #expect(throws: GRPCErrorResponse(.resourceExhausted, "grpc: received message after decompression larger than max (10)")) {
            try GRPCRouter.decodeMessage(request(gz, encoding: "gzip"), max: 10).get()
        }
        #expect(throws: GRPCErrorResponse(.unimplemented, "grpc: Decompressor is not installed for grpc-encoding \"snappy\"")) {
            try GRPCRouter.decodeMessage(request(gz, encoding: "snappy"), max: 100).get()
        }
        #expect(throws: GRPCErrorResponse(.internal, "grpc: compressed flag set with identity or empty encoding")) {
            try GRPCRouter.decodeMessage(request(gz, encoding: nil), max: 100).get()
        }
        let plain = GRPCFraming.frame(payload)
        #expect(try GRPCRouter.decodeMessage(request(plain, encoding: "gzip"), max: 100).get() == payload)
    }
}
