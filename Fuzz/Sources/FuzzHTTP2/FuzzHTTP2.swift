import FuzzSupport
@testable import FuzzTransportSupport
import OTLPCodec
@testable import Transport

/// HTTP/2 from a client: raw frames into nghttp2 through `HTTP2Session` on a real
/// `Connection`, with the gRPC router (admission, the message-length inspector, unary framing,
/// gzip) or the plain HTTP router behind it, and handlers that answer at once.
///
/// Input: flags (bit 0: do not prepend the client preface; bit 1: the plain HTTP router;
/// bit 2: the peer half-closes at the end; bits 3-4: the size limit), the number of chunk
/// sizes and the sizes, then the frames. Oracles: no crash, leak or hang; no request reaches
/// a handler with more than the limit; what the session writes is whole HTTP/2 frames after the
/// server's SETTINGS.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP2(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let flags = input.byte()
    let sizes = input.take(Int(input.byte() % 16))
    var bytes = input.rest()
    if flags & 1 == 0 { bytes = Connection.http2Preface + bytes }
    let limit = [16, 1024, 65536, 4 << 20][Int((flags >> 3) & 3)]
    let headerLimits = HTTPServerLimits(maxHeaderBytes: 4096, maxHeaderCount: 32, maxBodyBytes: limit)

    let router: any RequestRouter
    if flags & 2 == 0 {
        router = GRPCRouter(maxMessageBytes: limit, headerLimits: headerLimits) { call, respond in
            require(call.message.count <= limit, "a gRPC message of \(call.message.count) bytes passed \(limit)")
            let signal: OTLPSignal = call.path.hasSuffix("LogsService/Export") ? .logs : .traces
            do {
                let counts = try OTLPValidator.counts(signal, protobuf: call.message)
                respond(.ok(OTLPResponse.encode(signal, rejected: 0, errorMessage: counts.items == 0 ? "empty" : nil)))
            } catch {
                respond(.error(.invalidArgument, "\(error)"))
            }
        }
    } else {
        router = HTTPRouter(limits: headerLimits) { request, respond in
            require(request.body.count <= limit, "a body of \(request.body.count) bytes passed \(limit)")
            var response = HTTPResponse.text(200, "\(request.method) \(request.target) \(request.body.count)\n")
            response.trailers.add(name: "x-count", value: String(request.body.count))
            respond(response)
        }
    }
    let outcome = ConnectionHarness.run(.http2, router: router, chunks: chunks(bytes, sizes: sizes), endInput: flags & 4 != 0)
    checkFrames(outcome.output)
    return 0
}

/// The output is a sequence of whole frames (9-byte header + payload), SETTINGS first.
private func checkFrames(_ output: [UInt8]) {
    guard !output.isEmpty else { return }
    require(output.count >= 9 && output[3] == 4, "the server did not start with SETTINGS: \(describe(output))")
    var p = 0
    while p + 9 <= output.count {
        let length = Int(output[p]) << 16 | Int(output[p + 1]) << 8 | Int(output[p + 2])
        p += 9 + length
    }
    require(p == output.count, "the output ends inside a frame: \(describe(output))")
}
