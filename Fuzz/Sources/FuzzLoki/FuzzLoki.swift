@testable import FuzzLokiReference
import FuzzSupport
@testable import LokiExporter
import OTLPCodec

/// The Loki exporter's transcoder (`LokiTranscoder`: OTLP logs requests straight to a Loki
/// `PushRequest`) on any payloads, including undecodable ones, compared with the reference path
/// it must equal byte for byte (`OTLPLogRecords.read` -> `LokiStreamBuilder` ->
/// `ReferencePushEncoder`, the unit tests' reference, linked from Tests/).
///
/// Input: which label keys are configured (one byte), then up to 4 payloads separated by
/// `0xFF 0xFE 0xFD 0xFC`. Oracles: the same entries and the same bytes as the reference; an
/// undecodable payload is dropped whole (as the reference drops it).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLoki(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let labels = input.byte()
    let keys = ["service.name", "level", "k8s.pod.name", "weird-key/ü", "", "service_name", "l\u{E9}vel"]
    let resource = keys.enumerated().filter { labels & (1 << $0.offset) != 0 }.map(\.element)
    let attributes = keys.enumerated().filter { labels & (0x80 >> $0.offset) != 0 }.map(\.element).reversed()
    let payloads = input.pieces(separatedBy: [0xFF, 0xFE, 0xFD, 0xFC], limit: 4)

    let builder = LokiStreamBuilder(resourceLabels: resource, attributeLabels: Array(attributes))
    let transcoder = LokiTranscoder(resourceLabels: resource, attributeLabels: Array(attributes))
    let now: UInt64 = 1_800_000_000_000_000_000
    let got = transcoder.encode(payloads, now: now)
    var records: [OTLPLogRecord] = []
    var undecodable: [Int] = []
    for (index, payload) in payloads.enumerated() {
        do {
            records += try OTLPLogRecords.read(payload)
        } catch {
            undecodable.append(index)
        }
    }
    let expected = records.isEmpty ? [] : ReferencePushEncoder.encode(builder.streams(records, now: now))
    require(got.undecodable.map(\.index) == undecodable, "undecodable payloads \(got.undecodable.map(\.index)), reference \(undecodable)")
    require(got.entries == records.count, "\(got.entries) entries, reference \(records.count)")
    require(got.body == expected, "the push differs from the reference: \(describe(got.body)) vs \(describe(expected))")
    if !got.body.isEmpty {
        require(LokiProtobufEncoder.snappy(got.body).count > 0, "snappy produced nothing")
    }
    return 0
}
