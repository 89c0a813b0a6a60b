import FuzzSupport
@testable import OTLPCodec

/// OTLP/JSON from a client (`OTLPJSON.decode`: the JSON reader and the schema-driven transcoder
/// straight to protobuf wire bytes).
///
/// Input: one option byte (bit 0: logs instead of traces; bit 1: metrics), then the JSON body. Oracles: the
/// reference decoder (protobuf-c messages, packed by protobuf-c) gives the same bytes or the same
/// error (but for strings holding U+0000, which protobuf-c cuts); what the transcoder returns
/// passes `OTLPValidator` and protobuf-c unpacks it; encoding it to JSON and decoding again
/// gives a request with the same counts, and a second encoding is the same text (the JSON form
/// is a fixed point after one round).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOTLPJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let option = input.byte()
    let signal: OTLPSignal = option & 2 != 0 ? .metrics : (option & 1 == 0 ? .traces : .logs)
    let json = input.rest()

    let protobuf: [UInt8]
    let reference = Result { () throws(OTLPDecodeError) in try OTLPJSON.referenceDecode(signal, json: json) }
    do {
        protobuf = try OTLPJSON.decode(signal, json: json)
    } catch {
        require(!error.message.isEmpty, "an error without a message")
        if case .failure(let referenceError) = reference {
            require(error.message == referenceError.message, "the transcoder says \(error), the reference \(referenceError)")
        } else {
            require(false, "the transcoder refuses what the reference accepts: \(error)")
        }
        return 0
    }
    switch reference {
    case .success(let bytes):
        require(bytes == protobuf || containsU0000(json), """
            the transcoder and the reference differ:
            \(describe(protobuf))
            \(describe(bytes))
            """)
    case .failure(let error):
        require(false, "the reference refuses what the transcoder accepts: \(error)")
    }
    let counts: OTLPCounts
    do {
        counts = try OTLPValidator.counts(signal, protobuf: protobuf)
    } catch {
        require(false, "decoded JSON does not validate: \(error) (\(describe(protobuf)))")
        return 0
    }
    do {
        _ = try DebugFormatter(verbosity: .detailed).format(signal, protobuf: protobuf)
    } catch {
        require(false, "protobuf-c rejects decoded JSON: \(error) (\(describe(protobuf)))")
    }
    let first: [UInt8], second: [UInt8], back: [UInt8]
    do {
        first = try OTLPJSON.encode(signal, protobuf: protobuf)
        back = try OTLPJSON.decode(signal, json: first)
        second = try OTLPJSON.encode(signal, protobuf: back)
    } catch {
        require(false, "a JSON round trip fails: \(error)")
        return 0
    }
    let again = try? OTLPValidator.counts(signal, protobuf: back)
    require(again == counts, "the round trip counts \(String(describing: again)), the request \(counts)")
    require(first == second, """
        JSON written twice differs:
        \(String(decoding: first.prefix(1500), as: UTF8.self))
        \(String(decoding: second.prefix(1500), as: UTF8.self))
        """)
    return 0
}

/// Whether the JSON may hold a string with U+0000 (it has the escape `\u0000`).
private func containsU0000(_ json: [UInt8]) -> Bool {
    let pattern = Array("\\u0000".utf8)
    guard json.count >= pattern.count else { return false }
    for i in 0...(json.count - pattern.count) where json[i..<(i + pattern.count)].elementsEqual(pattern) { return true }
    return false
}
