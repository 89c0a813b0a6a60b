import CollectorTesting
import Testing
@testable import OTLPCodec

@Suite struct OTLPValidatorTests {
    @Test func countsTheTracesFixture() throws {
        let bytes = try Fixture.bytes("traces.pb")
        #expect(try OTLPValidator.count(.traces, protobuf: bytes) == 4)
        #expect(try OTLPValidator.counts(.traces, protobuf: bytes) == OTLPCounts(resources: 2, scopes: 3, items: 4))
    }

    @Test func countsTheLogsFixture() throws {
        let bytes = try Fixture.bytes("logs.pb")
        #expect(try OTLPValidator.counts(.logs, protobuf: bytes) == OTLPCounts(resources: 2, scopes: 2, items: 6))
    }

    @Test func countsTheSplitFixture() throws {
        let bytes = try Fixture.bytes("split.pb")
        #expect(try OTLPValidator.counts(.traces, protobuf: bytes) == OTLPCounts(resources: 4, scopes: 7, items: 30))
    }

    @Test func emptyInputIsAnEmptyRequest() throws {
        #expect(try OTLPValidator.counts(.traces, protobuf: []) == OTLPCounts())
        #expect(try OTLPValidator.count(.logs, protobuf: []) == 0)
    }

    @Test func concatenatedRequestsAddUp() throws {
        let t = try Fixture.bytes("traces.pb")
        let s = try Fixture.bytes("split.pb")
        #expect(try OTLPValidator.count(.traces, protobuf: t + s + t) == 4 + 30 + 4)
    }

    @Test func truncationIsRejectedWhereProtobufCRejectsIt() throws {
        let bytes = try Fixture.bytes("traces.pb")
        var rejected = 0
        for length in 0..<bytes.count {
            let prefix = Array(bytes[..<length])
            let accepted = (try? OTLPValidator.count(.traces, protobuf: prefix)) != nil
            #expect(accepted == protobufCAccepts(traces: prefix), "prefix of \(length) bytes")
            if !accepted { rejected += 1 }
        }
        #expect(rejected > bytes.count / 2)
    }

    @Test func truncatedRequestHasAClearReason() throws {
        let bytes = try Fixture.bytes("traces.pb")
        let error = #expect(throws: OTLPDecodeError.self) {
            try OTLPValidator.count(.traces, protobuf: Array(bytes.dropLast(5)))
        }
        #expect(error?.code == .malformedProtobuf)
        #expect(error?.message.hasPrefix(
            "malformed protobuf: ExportTraceServiceRequest could not be decoded (truncated length-delimited field at offset ") == true)
    }

    @Test func randomBytesNeverAcceptedWhenProtobufCRejects() {
        var random = SplitMix64(state: 42)
        var accepted = 0
        for round in 0..<3000 {
            let length = Int(random.next() % 64)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            if round % 3 == 0, !bytes.isEmpty { bytes[0] = 0x0A }  // start with resource_spans
            let ours = (try? OTLPValidator.count(.traces, protobuf: bytes)) != nil
            if ours {
                accepted += 1
                #expect(protobufCAccepts(traces: bytes), "accepted what protobuf-c rejects: \(bytes)")
            }
        }
        #expect(accepted < 3000)
    }

    @Test func mutatedFixturesAgreeWithProtobufC() throws {
        let original = try Fixture.bytes("traces.pb")
        var random = SplitMix64(state: 7)
        for _ in 0..<2000 {
            var bytes = original
            for _ in 0..<(1 + Int(random.next() % 3)) {
                bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
            }
            let ours = (try? OTLPValidator.count(.traces, protobuf: bytes)) != nil
            if ours { #expect(protobufCAccepts(traces: bytes)) }
        }
    }

    @Test func wrongWireTypeIsRejected() {
        // resource_spans { scope_spans { spans { name = varint 1 } } }: name is a string.
        let span: [UInt8] = [0x28, 0x01]  // field 5, wire type 0
        let bytes = PB.field(1, PB.field(2, PB.field(2, span)))
        let error = #expect(throws: OTLPDecodeError.self) { try OTLPValidator.count(.traces, protobuf: bytes) }
        #expect(error?.message == "malformed protobuf: ExportTraceServiceRequest could not be decoded "
            + "(field 5 of opentelemetry.proto.trace.v1.Span has wire type 0, expected 2 at offset 6)")
        #expect(!protobufCAccepts(traces: bytes))
    }

    @Test func groupsAndBadWireTypesAreRejected() {
        for key: UInt8 in [0x0B, 0x0C, 0x0E, 0x0F] {  // field 1 with wire types 3, 4, 6, 7
            #expect(throws: OTLPDecodeError.self) { try OTLPValidator.count(.traces, protobuf: [key, 0]) }
        }
    }

    @Test func unknownFieldsAreSkipped() throws {
        // An unknown varint, fixed64, fixed32 and bytes field at the top, and one in a span.
        let unknown: [UInt8] = [0xF8, 0x01, 0x05] + [0xF9, 0x01] + [UInt8](repeating: 1, count: 8)
            + [0xFD, 0x01, 1, 2, 3, 4] + PB.field(31, [9, 9])
        let bytes = unknown + PB.field(1, PB.field(2, PB.field(2, unknown + PB.string(5, "x"))))
        #expect(try OTLPValidator.count(.traces, protobuf: bytes) == 1)
        #expect(protobufCAccepts(traces: bytes))
    }

    /// Found by fuzzing (Fuzz/corpus/FuzzOTLPProtobuf/regression-field-number-above-29-bits):
    /// a 5-byte key whose field number needs more than 29 bits passed the validator (it kept 32
    /// bits of the key) but not the readers after it (the store's scanner, the splitter), so a
    /// request the receiver accepted made the store refuse the whole batch it was merged into.
    @Test func fieldNumbersAbove29BitsAreRejectedLikeTheScannerDoes() throws {
        func request(spanField key: [UInt8], _ value: [UInt8]) -> [UInt8] {
            PB.field(1, PB.field(2, PB.field(2, PB.string(5, "s") + key + value)))
        }
        let largest = request(spanField: [0xF8, 0xFF, 0xFF, 0xFF, 0x0F], [0x01])  // field 2^29 - 1, varint
        #expect(try OTLPValidator.count(.traces, protobuf: largest) == 1)
        #expect(try OTLPScanner.spans(largest).spans.count == 1)
        let tooLarge = request(spanField: [0xB5, 0xF8, 0xF5, 0xFE, 0x6E], [1, 2, 3, 4])  // field 3724259206, fixed32
        let error = #expect(throws: OTLPDecodeError.self) { try OTLPValidator.count(.traces, protobuf: tooLarge) }
        #expect(error?.message == "malformed protobuf: ExportTraceServiceRequest could not be decoded "
            + "(invalid field number 3724259206 at offset 9)")
        #expect(throws: OTLPDecodeError.self) { try OTLPScanner.spans(tooLarge) }
    }

    @Test func logsAreNotTraces() throws {
        // A logs request is also a structurally valid traces request (same field numbers and
        // wire types at the top levels) only while its records parse as spans; the fixture's
        // log records do not.
        let logs = try Fixture.bytes("logs.pb")
        #expect(throws: OTLPDecodeError.self) { try OTLPValidator.count(.traces, protobuf: logs) }
    }

    @Test func deepNestingIsRejectedWithoutOverflowingTheStack() throws {
        // AnyValue { array_value { values { AnyValue { ... } } } } nested `levels` times,
        // as a resource attribute value.
        func nested(_ levels: Int) -> [UInt8] {
            // Built back to front (reversed) so that it takes linear time.
            var reversed: [UInt8] = [0x01, 0x18]  // int_value = 1
            for _ in 0..<levels {
                for key: UInt8 in [0x0A, 0x2A] {  // ArrayValue.values (1), AnyValue.array_value (5)
                    reversed.append(contentsOf: PB.varint(UInt64(reversed.count)).reversed())
                    reversed.append(key)
                }
            }
            let keyValue = PB.string(1, "k") + PB.field(2, Array(reversed.reversed()))
            return PB.field(1, PB.field(1, PB.field(1, keyValue)))  // request.resource_spans.resource.attributes
        }
        #expect(try OTLPValidator.count(.traces, protobuf: nested(40)) == 0)
        for levels in [60, 100_000] {
            let bytes = nested(levels)
            let error = #expect(throws: OTLPDecodeError.self) { try OTLPValidator.count(.traces, protobuf: bytes) }
            #expect(error?.message.contains("messages nested deeper than 100 levels") == true)
        }
    }

    /// Found by fuzzing (Fuzz/corpus/FuzzOTLPProtobuf/regression-anyvalue-merged-without-value):
    /// protobuf-c merges a singular message field given twice and fails the merge when the
    /// field's type has a oneof that neither occurrence sets (and a string or empty bytes value
    /// so far does not survive a merge with an occurrence that sets nothing). The validator
    /// accepted such attribute values, so a request the receiver acknowledged failed later in
    /// the debug exporter and the OTLP/JSON writer (both unpack with protobuf-c). Every sequence
    /// of up to four values from a set covering each kind of member must be accepted by the
    /// validator exactly when protobuf-c accepts it.
    @Test func valuesGivenSeveralTimesAreAcceptedExactlyWhenProtobufCAccepts() throws {
        let values: [[UInt8]] = [
            [],                                      // no member
            PB.string(1, "v"), PB.string(1, ""),     // string_value
            [0x10, 0x01], [0x10, 0x00],              // bool_value
            [0x18, 0x05],                            // int_value
            [0x21, 0, 0, 0, 0, 0, 0, 0, 0],          // double_value
            [0x3A, 0x00], [0x3A, 0x01, 0x07],        // bytes_value, empty and not
            [0x32, 0x00], [0x2A, 0x00],              // kvlist_value, array_value (empty messages)
            [0xF8, 0x01, 0x01],                      // an unknown field only
            PB.string(1, "v") + [0x3A, 0x00], [0x3A, 0x00] + PB.string(1, "v"), [0x10, 0x01] + PB.string(1, "v"),
        ]
        func traces(_ occurrences: [[UInt8]]) -> [UInt8] {
            let keyValue = PB.string(1, "k") + occurrences.flatMap { PB.field(2, $0) }
            // request.resource_spans.scope_spans.spans.attributes
            return PB.field(1, PB.field(2, PB.field(2, PB.string(5, "s") + PB.field(9, keyValue))))
        }
        func logs(_ occurrences: [[UInt8]]) -> [UInt8] {
            PB.field(1, PB.field(2, PB.field(2, occurrences.flatMap { PB.field(5, $0) })))  // log_records.body
        }
        func sequences(_ length: Int) -> [[[UInt8]]] {
            length == 0 ? [[]] : sequences(length - 1).flatMap { prefix in values.map { prefix + [$0] } }
        }
        var refused = 0, mismatches: [String] = []
        for length in 1...4 {
            for occurrences in sequences(length) {
                let bytes = traces(occurrences)
                let accepted = (try? OTLPValidator.count(.traces, protobuf: bytes)) == 1
                if accepted != protobufCAccepts(traces: bytes) { mismatches.append("traces \(occurrences)") }
                if !accepted { refused += 1 }
                if length <= 3 {
                    let bytes = logs(occurrences)
                    let accepted = (try? OTLPValidator.count(.logs, protobuf: bytes)) == 1
                    if accepted != protobufCAccepts(logs: bytes) { mismatches.append("logs \(occurrences)") }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        #expect(refused > 1000, "the set must hold sequences protobuf-c refuses (\(refused))")

        let error = #expect(throws: OTLPDecodeError.self) {
            try OTLPValidator.count(.traces, protobuf: traces([PB.string(1, "v"), [], []]))
        }
        #expect(error?.message.contains("field 2 of opentelemetry.proto.common.v1.KeyValue given again with no value set") == true,
                "\(String(describing: error?.message))")
        // The fuzz input's value: the field given six times, the first two with no member.
        let fuzzed: [[UInt8]] = [[], [], [0x0A, 0x00], [], [0x0A, 0x00], []]
        #expect(throws: OTLPDecodeError.self) { try OTLPValidator.count(.traces, protobuf: traces(fuzzed)) }
        #expect(!protobufCAccepts(traces: traces(fuzzed)))
    }

    /// Plain attributes (a key, then a value with at most one scalar member, one-byte lengths)
    /// are checked
    /// without the general walk's frames; every other shape falls back to it. Accepted exactly
    /// when protobuf-c accepts, over every combination of key and value shapes around the
    /// plain one (lengths off by one, long varints, members given twice, unknown fields). (Not
    /// a bool with another wire type: refusing it is a deliberate difference, see the walk.)
    @Test func attributesAreAcceptedExactlyWhenProtobufCAccepts() throws {
        #expect(WireValidator.shared.checksPlainAttributes)
        let varints: [[UInt8]] = (1...11).map { n in [UInt8](repeating: 0x81, count: n - 1) + [0x01] }
        var members: [[UInt8]] = [
            [],
            PB.string(1, "v"), PB.string(1, ""), PB.string(1, String(repeating: "x", count: 127)),
            PB.string(1, String(repeating: "x", count: 128)),            // a two-byte length
            PB.string(1, String(repeating: "x", count: 16_384)),         // a three-byte length
            [0x0A, 0x81, 0x00, 0x41], [0x0A, 0x80, 0x00], [0x0A, 0x81],  // two-byte lengths of 1 and 0; cut
            [0x0A, 0x02, 0x41], [0x0A],                                  // string longer than its value; no length
            [0x3A, 0x00], [0x3A, 0x01, 0x07], [0x3A, 0x05, 0x07],        // bytes_value
            [0x21, 0, 0, 0, 0, 0, 0, 0, 0], [0x21, 0, 0, 0, 0, 0, 0, 0], [0x21, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            [0x2A, 0x00], [0x32, 0x00],                                  // array_value, kvlist_value
            [0xF8, 0x01, 0x01], [0x0B], [0x0F, 0x01],                    // unknown field, a group, wire type 7
            [0x19, 0, 0, 0, 0, 0, 0, 0, 0],                              // int_value with the wrong wire type
            PB.string(1, "v") + [0x10, 0x01],                            // two members
        ]
        for varint in varints { members.append([0x10] + varint); members.append([0x18] + varint) }
        members.append([0x18, 0x80])                                     // a truncated varint
        let keys: [[UInt8]] = [PB.string(1, "k"), PB.string(1, ""), PB.string(1, String(repeating: "k", count: 200)),
                               PB.string(1, String(repeating: "k", count: 20_000)), [0x0A, 0x82, 0x00, 0x6B, 0x6B],
                               [0x08, 0x01], [0x0A, 0x05, 0x6B]]
        func request(_ keyValue: [UInt8]) -> [UInt8] {
            PB.field(1, PB.field(2, PB.field(2, PB.string(5, "s") + PB.field(9, keyValue) + PB.field(9, PB.string(1, "n")))))
        }
        var shapes: [[UInt8]] = []
        for member in members {
            let value = PB.field(2, member)
            for key in keys {
                shapes += [key + value, value + key, key + value + value, key + value + [0x18, 0x01], key + value + key]
            }
            shapes += [value, member]
        }
        var accepted = 0, mismatches: [String] = []
        for keyValue in shapes {
            let bytes = request(keyValue)
            let ours = (try? OTLPValidator.count(.traces, protobuf: bytes)) == 1
            if ours != protobufCAccepts(traces: bytes) { mismatches.append("\(keyValue)") }
            if ours { accepted += 1 }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(5))")
        // The fast path takes the plain ones and nothing else (a length of two bytes or more
        // takes the general walk: checking those in place as well cost the common case 4-16% in
        // the validate benchmark).
        let long = String(repeating: "x", count: 300)
        for plain in [PB.string(1, "k") + PB.field(2, PB.string(1, "v")), PB.string(1, "k") + PB.field(2, PB.string(1, "x")),
                      PB.string(1, "k") + PB.field(2, [0x18] + varints[8]), PB.string(1, "k") + PB.field(2, []),
                      PB.string(1, "k") + PB.field(2, [0x21, 0, 0, 0, 0, 0, 0, 0, 0]), PB.string(1, "") + PB.field(2, [0x3A, 0x00])] {
            #expect(WireValidator.checksInPlace(plain), "\(plain.prefix(8))")
        }
        for other in [PB.string(1, "k") + PB.field(2, [0x18] + varints[9]), PB.field(2, PB.string(1, "v")) + PB.string(1, "k"),
                      PB.string(1, long) + PB.field(2, PB.string(1, "v")), PB.string(1, "k") + PB.field(2, PB.string(1, long)),
                      PB.string(1, "k") + PB.field(2, PB.string(1, String(repeating: "x", count: 16_384))),
                      PB.string(1, "k") + PB.field(2, PB.string(1, "v") + [0x10, 0x01]), PB.string(1, "k") + PB.field(2, [0x2A, 0x00])] {
            #expect(!WireValidator.checksInPlace(other), "\(other.prefix(8))")
        }
        #expect(accepted > 100 && accepted < shapes.count, "both outcomes are exercised (\(accepted) of \(shapes.count))")
    }

    @Test func theMergedFieldsAreTheAnyValueFields() {
        let schema = OTLPSchema.shared
        let merged = WireValidator.mergedFields(schema).map { "\(schema.messageNames[$0.message]).\($0.number)" }.sorted()
        #expect(merged == ["opentelemetry.proto.common.v1.KeyValue.2", "opentelemetry.proto.logs.v1.LogRecord.5"])
    }
}
