import FuzzSupport
@testable import Transport

/// A gRPC request body and its decompression: the unary framing (`GRPCFraming`), the early
/// length check while the body arrives, `GRPCRouter.decodeMessage` with each `grpc-encoding`,
/// `Gzip.decompress` with its output limit, and `grpc-message` percent-encoding.
///
/// Input: flags (bits 0-1: the size limit; bits 2-3: the `grpc-encoding`), then the body.
/// Oracles: nothing decoded is larger than the limit; the early check never refuses a body the
/// complete check accepts; gzip output compresses and inflates back to itself; percent-encoding
/// round-trips any text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGRPC(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let flags = input.byte()
    let limit = [0, 64, 4096, 4 << 20][Int(flags & 3)]
    let encoding: String? = [nil, "gzip", "identity", "zstd"][Int((flags >> 2) & 3)]
    let body = input.rest()

    // The message as a whole body, and the body as it arrives byte by byte at the inspector.
    var headers: HTTPHeaders = ["content-type": "application/grpc"]
    if let encoding { headers.add(name: "grpc-encoding", value: encoding) }
    let request = HTTPRequest(method: "POST", target: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                              version: .http2, headers: headers, body: body)
    let decoded = GRPCRouter.decodeMessage(request, max: limit)
    if case .success(let message) = decoded {
        require(message.count <= limit || body.first == 0, "a decoded message of \(message.count) bytes passed \(limit)")
        var refusedEarly = false
        for end in [5, body.count / 2, body.count] where end >= 0 && end <= body.count {
            if GRPCFraming.inspectUnary(Array(body[..<end]), max: max(limit, body.count)) != nil { refusedEarly = true }
        }
        require(!refusedEarly, "the early check refuses a body the complete check accepts")
    }
    if case .success(let (flag, payload)) = GRPCFraming.unaryMessage(body) {
        require(payload.count == GRPCFraming.declaredLength(body) && payload.upperBound == body.count && (flag == body[0]),
                "unaryMessage's payload \(payload) for \(describe(body))")
    }

    do {
        let inflated = try Gzip.decompress(body, limit: limit)
        require(inflated.count <= limit, "gzip produced \(inflated.count) bytes past the limit \(limit)")
        // (Round trips of bombs inflated to megabytes would take most of the time.)
        if inflated.count <= 65536 {
            let again = try Gzip.decompress(Gzip.compress(inflated, level: 1), limit: limit)
            require(again == inflated, "gzip does not round-trip \(describe(inflated))")
        }
    } catch {
        require(!error.description.isEmpty, "a gzip error without a description")
    }

    let text = String(decoding: body, as: UTF8.self)
    let encoded = GRPCFraming.percentEncode(text)
    require(encoded.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }, "percent-encoding left \(encoded)")
    require(GRPCFraming.percentDecode(encoded) == text, "percent-encoding does not round-trip \(describe(body))")
    _ = GRPCFraming.percentDecode(text)
    _ = GRPCFraming.isGRPCContentType(text)
    return 0
}
