import FuzzSupport
@testable import OTLPCodec

/// OTLP/JSON from a client (`OTLPJSON.decode`: the JSON reader, the schema-driven decoder, the
/// protobuf-c message builder and packer).
///
/// Input: one option byte (bit 0: logs instead of traces), then the JSON body. Oracles: what
/// the decoder returns passes `OTLPValidator` and protobuf-c unpacks it (its documented
/// guarantee); encoding it to JSON and decoding again gives a request with the same counts,
/// and a second encoding is the same text (the JSON form is a fixed point after one round).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOTLPJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let signal: OTLPSignal = input.byte() & 1 == 0 ? .traces : .logs
    let json = input.rest()

    let protobuf: [UInt8]
    do {
        protobuf = try OTLPJSON.decode(signal, json: json)
    } catch {
        require(!error.message.isEmpty, "an error without a message")
        return 0
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
