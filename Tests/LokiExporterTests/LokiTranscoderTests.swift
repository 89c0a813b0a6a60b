import CollectorTesting
import Foundation
@testable import LokiExporter
import OTLPCodec
import Testing

extension LokiSuites {
    /// The transcoder (OTLP wire format straight to Loki's) must produce byte for byte the push
    /// of the reference path (OTLPLogRecords.read -> LokiStreamBuilder -> ReferencePushEncoder),
    /// on random requests full of edge cases: several resources and scopes, label keys present,
    /// missing or repeated, non-string and invalid UTF-8 values, keys to sanitize, ids, severity
    /// numbers without text, times missing or out of order, undecodable payloads.
    @Suite struct Transcoder {
        struct PB {
            var bytes: [UInt8] = []
            mutating func varint(_ v: UInt64) {
                var v = v
                while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
                bytes.append(UInt8(v))
            }
            mutating func len(_ field: UInt64, _ payload: [UInt8]) { varint(field << 3 | 2); varint(UInt64(payload.count)); bytes += payload }
            mutating func int(_ field: UInt64, _ v: UInt64) { varint(field << 3); varint(v) }
            mutating func fixed64(_ field: UInt64, _ v: UInt64) {
                varint(field << 3 | 1)
                for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
            }
        }

        static let texts: [[UInt8]] = [
            Array("GET /api 200".utf8), Array("line with \"quotes\", back\\slash and\nnewline".utf8), [],
            Array("ünïcödé ✓".utf8), [0x66, 0xFF, 0x6F], Array("checkout".utf8), Array("prod".utf8), Array("app.log".utf8),
            Array("caf\u{E9}".utf8), Array("cafe\u{301}".utf8),   // canonically equivalent, different bytes
        ]
        static let keys: [[UInt8]] = [
            Array("log.file.name".utf8), Array("level".utf8), Array("k8s.pod.name".utf8), Array("1st".utf8),
            Array("weird-key/ü".utf8), [], Array("service.name".utf8), Array("user_id".utf8), [0x6B, 0xC3],
            Array("service_name".utf8), Array("l\u{E9}vel".utf8), Array("le\u{301}vel".utf8),
        ]

        func anyValue(_ r: inout SplitMix64) -> [UInt8] {
            var v = PB()
            switch r.below(9) {
            case 0...3: v.len(1, r.pick(Self.texts))
            case 4: v.int(2, UInt64(r.below(2)))
            case 5: v.int(3, UInt64(bitPattern: Int64(r.below(2000)) - 1000))
            case 6: v.fixed64(4, (Double(r.below(1000)) / 8).bitPattern)
            case 7:
                var array = PB()
                array.len(1, { var s = PB(); s.len(1, Array("a".utf8)); return s.bytes }())
                array.len(1, { var s = PB(); s.int(3, 7); return s.bytes }())
                v.len(5, array.bytes)
            default: break   // an empty AnyValue
            }
            return v.bytes
        }

        func keyValue(_ r: inout SplitMix64, keys: [[UInt8]]) -> [UInt8] {
            var kv = PB()
            kv.len(1, r.pick(keys))
            kv.len(2, anyValue(&r))
            return kv.bytes
        }

        func request(_ r: inout SplitMix64) -> [UInt8] {
            var request = PB()
            for _ in 0..<(1 + r.below(3)) {
                var resourceLogs = PB()
                var resource = PB()
                for _ in 0..<r.below(4) { resource.len(1, keyValue(&r, keys: Self.keys)) }
                resourceLogs.len(1, resource.bytes)
                for _ in 0..<(1 + r.below(2)) {
                    var scope = PB()
                    for _ in 0..<r.below(6) {
                        var record = PB()
                        if r.below(4) > 0 { record.fixed64(1, 1_700_000_000_000_000_000 + UInt64(r.below(5)) * 1_000_000_007) }
                        if r.below(2) == 0 { record.fixed64(11, 1_700_000_000_500_000_000) }
                        if r.below(2) == 0 { record.int(2, UInt64(r.below(26))) }
                        if r.below(2) == 0 { record.len(3, r.pick([Array("WARN".utf8), [], [0xFF]])) }
                        if r.below(5) > 0 { record.len(5, anyValue(&r)) }
                        for _ in 0..<r.below(5) { record.len(6, keyValue(&r, keys: Self.keys)) }
                        if r.below(2) == 0 { record.len(9, (0..<r.pick([16, 8, 0])).map { _ in UInt8(r.below(256)) }) }
                        if r.below(2) == 0 { record.len(10, (0..<8).map { _ in UInt8(r.below(256)) }) }
                        if r.below(8) == 0 { record.int(15, 3) }   // an unknown field, skipped
                        scope.len(2, record.bytes)
                    }
                    resourceLogs.len(2, scope.bytes)
                }
                request.len(1, resourceLogs.bytes)
            }
            return request.bytes
        }

        func reference(_ payloads: [[UInt8]], _ builder: LokiStreamBuilder, now: UInt64) -> (body: [UInt8], entries: Int) {
            let records = payloads.flatMap { (try? OTLPLogRecords.read($0)) ?? [] }
            guard !records.isEmpty else { return ([], 0) }
            return (ReferencePushEncoder.encode(builder.streams(records, now: now)), records.count)
        }

        @Test(arguments: [
            ([], []),
            (["service.name", "k8s.namespace.name"], ["log.file.name", "level"]),
            (["service.name", "weird-key/ü", "1st"], ["level", "k8s.pod.name", ""]),
            // Two keys sanitized to one name (the first wins), and canonically equivalent keys.
            (["service.name"], ["service_name", "l\u{E9}vel", "level"]),
        ] as [([String], [String])])
        func matchesTheReferenceOnRandomRequests(resource: [String], attributes: [String]) {
            let builder = LokiStreamBuilder(resourceLabels: resource, attributeLabels: attributes)
            let transcoder = LokiTranscoder(resourceLabels: resource, attributeLabels: attributes)
            var r = SplitMix64(state: UInt64(resource.count * 31 + attributes.count))
            var compared = 0, dropped = 0
            for round in 0..<400 {
                var payloads = (0..<(1 + r.below(3))).map { _ in request(&r) }
                if r.below(10) == 0 {
                    let i = r.below(payloads.count)
                    payloads[i] = Array(payloads[i].prefix(payloads[i].count / 2 + 1)) + [0x0A, 0x7F]   // truncated
                }
                let now: UInt64 = 1_800_000_000_000_000_000 + UInt64(round)
                let expected = reference(payloads, builder, now: now)
                let got = transcoder.encode(payloads, now: now)
                dropped += got.undecodable.count
                #expect(got.entries == expected.entries, "round \(round)")
                #expect(got.body == expected.body, "round \(round): \(got.body.count) vs \(expected.body.count) bytes")
                if got.body != expected.body { return }
                compared += expected.entries
            }
            #expect(compared > 1000)
            #expect(dropped > 0)
        }
    }
}
