import FuzzSupport
@testable import FuzzTransportSupport
@testable import Transport

/// HTTP/1.1 requests from a client: `HTTP1Parser` fed the way a socket delivers bytes, then the
/// same bytes through `HTTP1Session` on a real `Connection` (pipelining, 100-continue, errors
/// answered in order, keep-alive and closing).
///
/// Input: limits (2 bytes: head size and field count, body size), flags (bit 0: the peer
/// half-closes at the end), the number of chunk sizes and the sizes, then the bytes.
/// Oracles: cutting the bytes into chunks changes nothing (the same requests come out, and an
/// error either way); no request exceeds the limits; the session's output is HTTP/1.1
/// responses.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP1(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let a = input.byte(), b = input.byte()
    let limits = HTTPServerLimits(maxHeaderBytes: [64, 256, 1024, 65536][Int(a & 3)],
                                  maxHeaderCount: [2, 8, 100, 1000][Int((a >> 2) & 3)],
                                  maxBodyBytes: [0, 16, 1024, 20 << 20][Int(b & 3)])
    let flags = input.byte()
    let sizes = input.take(Int(input.byte() % 16))
    let bytes = input.rest()

    var whole = HTTP1Parser(limits: limits, remoteAddress: "192.0.2.1:40000")
    let expected = whole.feed(bytes)
    var pieces = HTTP1Parser(limits: limits, remoteAddress: "192.0.2.1:40000")
    var got: [HTTP1Parser.Event] = []
    let parts = chunks(bytes, sizes: sizes)
    for part in parts { got += part.withUnsafeBytes { pieces.feed($0) } }
    require(requests(got) == requests(expected) && failed(got) == failed(expected), """
        chunks \(sizes) change the parse of \(describe(bytes, limit: 200)):
        whole: \(expected)
        chunked: \(got)
        """)
    for case .request(let request, _) in expected {
        require(request.body.count <= limits.maxBodyBytes, "a body of \(request.body.count) bytes passed \(limits.maxBodyBytes)")
        require(request.headers.count <= limits.maxHeaderCount, "\(request.headers.count) fields passed \(limits.maxHeaderCount)")
    }

    let router = HTTPRouter(limits: limits) { request, respond in
        respond(.text(200, "\(request.method) \(request.target) \(request.body.count)\n"))
    }
    let outcome = ConnectionHarness.run(.http1, router: router, chunks: parts, endInput: flags & 1 != 0)
    require(outcome.output.isEmpty || outcome.output.starts(with: Array("HTTP/1.".utf8)),
            "the session wrote \(describe(outcome.output))")
    return 0
}

/// The events before the first error, which must not depend on how the bytes were cut.
private func requests(_ events: [HTTP1Parser.Event]) -> [HTTP1Parser.Event] {
    Array(events.prefix { if case .error = $0 { false } else { true } })
}

private func failed(_ events: [HTTP1Parser.Event]) -> Bool {
    events.contains { if case .error = $0 { true } else { false } }
}
