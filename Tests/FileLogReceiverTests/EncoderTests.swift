import CollectorTesting
import Foundation
import Testing
@testable import FileLogReceiver

/// The tailer's own encoders, checked against independent references: UTF-8 validation against
/// the standard library's decoder, and the request encoder by decoding its output with OTLPCodec.
@Suite struct EncoderTests {
    /// Random byte strings biased towards UTF-8 lead and continuation bytes, plus the classic
    /// edge cases (overlong forms, surrogates, above U+10FFFF, truncated sequences).
    @Test func utf8ValidationAgreesWithTheStandardLibrary() {
        var rng = SplitMix64(state: 42)
        var cases: [[UInt8]] = [
            [], [0x41], [0xC0, 0x80], [0xC2, 0x80], [0xE0, 0x80, 0x80], [0xE0, 0xA0, 0x80], [0xED, 0xA0, 0x80],
            [0xED, 0x9F, 0xBF], [0xF0, 0x8F, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xE2, 0x82], [0xFF], Array("héllo wörld ✓ 𝄞".utf8),
        ]
        let alphabet: [UInt8] = [0x41, 0x7F, 0x80, 0xBF, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xA0, 0x9F, 0x90]
        for _ in 0..<20_000 {
            let prefix = Int(rng.next() % 20)   // ASCII runs exercise the 8-byte fast path
            let tail = (0..<Int(rng.next() % 6)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            cases.append(Array(repeating: 0x61, count: prefix) + tail + Array(repeating: 0x62, count: Int(rng.next() % 10)))
        }
        for bytes in cases {
            let expected = String(validating: bytes, as: UTF8.self) != nil
            let got = bytes.withUnsafeBytes { UTF8Validation.isValid($0) }
            #expect(got == expected, "\(bytes.map { String($0, radix: 16) })")
        }
    }

    @Test func requestEncoderOutputDecodesToTheSameRecords() throws {
        var encoder = LogsRequestEncoder(scratch: ScratchBuffer(capacity: 16), resourceAttributes: [("k8s.pod.name", "web-1")],
                                         fileAttributes: [("log.file.name", "app.log")], observedUnixNano: 7)
        let long = String(repeating: "x", count: 300)   // a length needing a two-byte varint
        let bodies = [Array("first".utf8), [], Array(long.utf8), Array("bad ".utf8) + [0xFF]]   // 0xFF: replaced
        for (i, bytes) in bodies.enumerated() {
            bytes.withUnsafeBytes { encoder.add(body: $0, endOffset: Int64(10 * (i + 1))) }
        }
        encoder.add(LogEntry(body: Array("entry".utf8), timeUnixNano: 99, attributes: [("log.iostream", "stderr")],
                             severityText: "WARN", severityNumber: 13, traceID: Array(repeating: 1, count: 16),
                             spanID: Array(repeating: 2, count: 8), endOffset: 60))
        let batch = encoder.take()
        #expect(batch.count == 5 && batch.endOffset == 60)
        #expect(encoder.count == 0 && encoder.byteCount == 0)
        let records = try FakeConsumer.decode(batch.payload).get()
        let resource = ["k8s.pod.name": "web-1"], file = ["log.file.name": "app.log"]
        var last = SeenRecord(body: "entry", timeUnixNano: 99, attributes: file.merging(["log.iostream": "stderr"]) { a, _ in a },
                              resource: resource)
        last.traceID = String(repeating: "01", count: 16)
        last.spanID = String(repeating: "02", count: 8)
        last.severityText = "WARN"
        last.severityNumber = 13
        #expect(records == ["first", "", long, "bad \u{FFFD}"].map {
            SeenRecord(body: $0, timeUnixNano: 0, attributes: file, resource: resource)
        } + [last])
    }

    /// int (including negative: a ten-byte varint), double and bool attribute values and the
    /// trace flags, decoded independently.
    @Test func typedAttributesAndFlagsDecode() throws {
        var encoder = LogsRequestEncoder(scratch: ScratchBuffer(capacity: 16), resourceAttributes: [],
                                         fileAttributes: [("log.file.name", "app.log")], observedUnixNano: 7)
        let typed: [(String, AttributeValue)] = [
            ("s", .string("text")), ("zero", .int(0)), ("neg", .int(-7)), ("max", .int(.max)), ("min", .int(.min)),
            ("d", .double(-0.125)), ("t", .bool(true)), ("f", .bool(false)), ("long", .string(String(repeating: "y", count: 200))),
        ]
        encoder.add(LogEntry(body: Array("{}".utf8), attributes: [("log.iostream", "stdout")], typedAttributes: typed,
                             traceFlags: 1, endOffset: 3))
        encoder.add(LogEntry(body: Array("next".utf8), endOffset: 8))
        let batch = encoder.take()
        let records = try FakeConsumer.decode(batch.payload).get()
        var first = SeenRecord(body: "{}", timeUnixNano: 0,
                               attributes: ["log.file.name": "app.log", "log.iostream": "stdout", "s": "text",
                                            "long": String(repeating: "y", count: 200)], resource: [:])
        first.flags = 1
        first.otherAttributes = ["zero": .int(0), "neg": .int(-7), "max": .int(.max), "min": .int(.min), "d": .double(-0.125),
                                 "t": .bool(true), "f": .bool(false)]
        #expect(records == [first, SeenRecord(body: "next", timeUnixNano: 0, attributes: ["log.file.name": "app.log"], resource: [:])])
    }
}
